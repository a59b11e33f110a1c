"""Guarded generation: input rails -> a local causal LM -> output rails, with what each rail did and why.

The prompt the model sees is the input rails' sanitized text (secrets and PII redacted); a blocked prompt
never reaches the model. The output rails scan the answer with the user's original text as the prompt (plus
the system prompt when there is one), so a leakage scanner can tell that the answer gives back PII the input
rails redacted, or a canary of the system prompt. Decoding is greedy with a small token budget: this is a
test bench for rails, not a chat product.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails.base import Verdict
from guardrails.policy import Policy, PolicyResult, PolicyRunner, load_policy

BLOCKED_INPUT = "[request blocked by {who}]"
BLOCKED_OUTPUT = "[answer withheld: blocked by {who}]"


def describe(side: str, v: Verdict) -> str | None:
    """One line for a verdict that did something (None when the scanner found nothing)."""
    if v.action is None and v.valid and not v.timed_out:
        return None
    what = {"block": "blocked", "redact": "redacted", "warn": "warned"}.get(v.action or "", "flagged")
    why = list(v.reasons)
    if v.spans and not why:  # the scanner gave no reasons: say what its spans were
        labels: dict[str, int] = {}
        for s in v.spans:
            labels[s.label] = labels.get(s.label, 0) + 1
        why.insert(0, ", ".join(f"{n} x {lab}" for lab, n in labels.items()))
    if v.timed_out and not any("budget" in r for r in why):
        why.append("timed out")
    return f"{side} {v.scanner}: {what} (score {v.score:.2f}{'; ' + '; '.join(why) if why else ''})"


@dataclass
class ChatTurn:
    """One guarded exchange."""

    user: str
    input: PolicyResult
    prompt_sent: str | None = None
    raw_answer: str | None = None
    output: PolicyResult | None = None
    answer: str = ""
    blocked: str | None = None  # "input" | "output" | None
    generate_ms: float = 0.0
    total_ms: float = 0.0
    events: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "blocked": self.blocked, "prompt_sent": self.prompt_sent,
                "raw_answer": self.raw_answer, "answer": self.answer, "events": self.events,
                "input": self.input.to_dict(), "output": self.output.to_dict() if self.output else None,
                "generate_ms": round(self.generate_ms, 2), "total_ms": round(self.total_ms, 2)}


class GuardedChat:
    """A local model (folder or LoRA adapter folder) between a policy's input and output rails."""

    def __init__(self, model: str | Path, policy: Policy | str | Path | None = None, *, max_new_tokens: int = 48,
                 system: str | None = None, device: str = "cpu") -> None:
        from guardrails.probe import load_model

        pol = policy if isinstance(policy, Policy) else load_policy(policy)
        self.runner = PolicyRunner(pol)  # scanners load before the model: a policy error fails fast
        self.model, self.tok, self.model_info = load_model(model, device)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.system = system

    def _prompt_text(self, user: str) -> str:
        if self.tok.chat_template:
            msgs = ([{"role": "system", "content": self.system}] if self.system else []) + \
                   [{"role": "user", "content": user}]
            return self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return f"{self.system}\n\n{user}\n" if self.system else f"{user}\n"

    def generate(self, user: str) -> str:
        """The model's greedy answer to one user message."""
        import torch

        enc = self.tok(self._prompt_text(user), return_tensors="pt", add_special_tokens=False).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1,
                                      pad_token_id=self.tok.pad_token_id)
        return self.tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def turn(self, user: str) -> ChatTurn:
        """Run one message through input rails, the model and output rails."""
        t0 = time.perf_counter()
        inp = self.runner.scan_input(user)
        turn = ChatTurn(user=user, input=inp)
        turn.events = [e for v in inp.verdicts if (e := describe("input", v))]
        if not inp.valid:
            turn.blocked = "input"
            turn.answer = BLOCKED_INPUT.format(who=", ".join(inp.blocked_by))
            turn.total_ms = (time.perf_counter() - t0) * 1000.0
            return turn
        turn.prompt_sent = inp.sanitized
        g0 = time.perf_counter()
        turn.raw_answer = self.generate(inp.sanitized)
        turn.generate_ms = (time.perf_counter() - g0) * 1000.0
        context = f"{self.system}\n\n{user}" if self.system else user
        out = self.runner.scan_output(turn.raw_answer, context)
        turn.output = out
        turn.events += [e for v in out.verdicts if (e := describe("output", v))]
        if not out.valid:
            turn.blocked = "output"
            turn.answer = BLOCKED_OUTPUT.format(who=", ".join(out.blocked_by))
        else:
            turn.answer = out.sanitized
        turn.total_ms = (time.perf_counter() - t0) * 1000.0
        return turn
