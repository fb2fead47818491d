"""The face engine: detection, alignment, embedding and face attributes on local models."""
