"""The real stack the product runs on, built and started for development and tests.

`tools`, `pki` and `cluster` use the standard library only: `dev.py` imports them before anything else
is installed. `fixtures` (pytest) and the stand-ins (the `pulumi` SDK's gRPC stubs) run in the venv.

- `tools`: the Pulumi CLI, the Kubernetes provider, etcd, kube-apiserver,
  kube-controller-manager, kube-scheduler and kwok, built from their Go modules
  into a cache outside the checkout.
- `cluster`: a Kubernetes control plane on loopback from those programs.
- `fixtures`: the pytest fixtures of the real tier (skipped without the tools, failed under CI=true).
- `azure_native/`: a stand-in for the azure-native provider plugin (tests only: Azure is not here).
- `language_python/`: a stand-in for the Python language host (its Go module is not served here).
"""
