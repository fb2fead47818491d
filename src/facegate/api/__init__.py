"""HTTP routers, one module per resource of the CompreFace-compatible API."""
