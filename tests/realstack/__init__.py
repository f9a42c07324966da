"""The real stack the product runs on, built and started for development and tests.

Standard library only: `dev.py` imports it before anything else is installed.

- `tools`: the Pulumi CLI, its Python language host, the Kubernetes provider,
  etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, built
  from their Go modules into a cache outside the checkout.
- `cluster`: a Kubernetes control plane on loopback from those programs.
- `azure_native/`: a stand-in for the azure-native provider plugin (tests only).
"""
