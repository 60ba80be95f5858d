"""TEST INFRASTRUCTURE for SkyRL 0.4.0: a stand-in for ``peft`` in the SkyRL server's venv.

SkyRL writes a ``adapter_config.json`` next to each saved LoRA adapter with
``peft.LoraConfig(...).save_pretrained(dir)``; that is all it uses peft for on the JAX path.
Real peft 0.18.1 (SkyRL's pin) pulls torch; this writes the same kind of file.
"""

import json
from pathlib import Path
from typing import Any


class LoraConfig:
    def __init__(self, **fields: Any) -> None:
        self.fields = {"peft_type": "LORA", "task_type": "CAUSAL_LM", **fields}

    def save_pretrained(self, directory: Any) -> None:
        path = Path(directory) / "adapter_config.json"
        path.write_text(json.dumps(self.fields, indent=2, default=str) + "\n")
