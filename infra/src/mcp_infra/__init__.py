"""Everything the platform deploys for an adapter, defined once.

`spec` holds the adapter contract shared with the service; the render turns a
spec plus platform settings into typed resource specs without calling Pulumi;
the component turns those into Pulumi resources.
"""
