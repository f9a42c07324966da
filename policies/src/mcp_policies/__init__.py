"""Policy rules as plain functions over resource inputs; the CrossGuard pack wraps them."""
