"""Build-time converters: dlib's `.dat` network and the Keras mask classifier, turned into ONNX
files once in the data directory; the runtime reaches each only through its `model_file`."""
