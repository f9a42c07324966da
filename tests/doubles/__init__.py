"""Test doubles of external programs the service drives (the Pulumi CLI), faithful enough to test against."""
