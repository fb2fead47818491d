"""Build-time conversion of dlib's face network to ONNX: the .dat reader, the exporter and
the converted file kept in the data directory."""
