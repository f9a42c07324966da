"""The platform stack: what the root `Pulumi.yaml` deploys."""
