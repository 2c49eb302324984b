"""Fine-tuning: read training examples, check that the data can teach what it should, then train LoRA adapters."""
