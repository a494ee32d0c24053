"""Code the transformers-based engines share (hf, encoder, vllm, and openai's launched
servers): resolving a source to transformers weights, loading it, and the torch quantization
transforms. No engine registers here; each engine folder imports what it needs."""
