"""Build-time conversion of the Keras mask classifier to ONNX: the HDF5 reader, the exporter
and the converted file kept in the data directory."""
