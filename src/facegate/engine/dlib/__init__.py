"""dlib's model family: 5-point alignment, the ResNet embedder (dlib or ONNX), 68 landmarks and
the age/gender networks that share its chips."""
