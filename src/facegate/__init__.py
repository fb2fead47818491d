"""facegate: a self-hosted face recognition service with CompreFace's REST API."""

__version__ = "0.1.0"
