"""Policies: which scanners run on a prompt (input) and on an answer (output), in order, and what a finding does.

A policy is YAML validated into `Policy` (extra="forbid" at every level, each scanner's `config` checked
against that scanner's own Config), so a typo names the field before any scanner runs.

Actions, applied in the policy's order:
* `block`: a finding makes the result invalid (`blocked_by` names the scanner);
* `redact`: the scanner's sanitized text replaces the text for the scanners after it and for the result;
  a finding the scanner cannot redact (its sanitized text is unchanged) blocks instead, failing closed;
* `warn`: the finding is recorded (`warned_by`) and the text passes.

`mode: fail_fast` stops at the first block; `run_all` runs every scanner (for reports and benchmarks).
A scanner that runs past its `time_budget_ms` stops at its next check and is marked `timed_out`; what it
found so far still counts, and `on_timeout` (the entry's, else the policy's) decides what the unfinished
scan means: block, warn or allow. A scanner that raises on some input blocks that input (fail closed)
with the error as its reason, so bad input never becomes a traceback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curation.errors import WinnowError
from curation.utf8 import decode_utf8
from guardrails.base import Scanner, Verdict, clean_text
from guardrails.scanners import get_scanner, scanner_names

Action = Literal["block", "redact", "warn"]
OnTimeout = Literal["block", "allow", "warn"]


class ScannerEntry(BaseModel):
    """One scanner in a policy: its name, the score at which it flags, what a flag does, its time budget."""

    model_config = ConfigDict(extra="forbid")

    scanner: str = Field(..., description="a scanner name (see `scanner_names()`)")
    threshold: float | None = Field(None, ge=0.0, le=1.0,
                                    description="score >= threshold is a finding (default: the scanner's own)")
    action: Action = "block"
    time_budget_ms: float | None = Field(None, gt=0, description="stop and mark timed_out after this long")
    on_timeout: OnTimeout | None = Field(None, description="overrides the policy's on_timeout")
    config: dict[str, Any] = Field(default_factory=dict, description="the scanner's own Config fields")

    @model_validator(mode="after")
    def _check_scanner(self) -> ScannerEntry:
        if self.scanner not in scanner_names():
            raise ValueError(f"unknown scanner {self.scanner!r}; known: {', '.join(scanner_names())}")
        cls = get_scanner(self.scanner)
        try:
            cls.Config.model_validate(self.config)
        except ValidationError as e:
            raise ValueError(f"config of {self.scanner}: {_pretty(e)}") from None
        return self


class Policy(BaseModel):
    """Ordered input and output scanners, fail-fast or run-all, and what a timeout means."""

    model_config = ConfigDict(extra="forbid")

    name: str = "policy"
    description: str = ""
    mode: Literal["fail_fast", "run_all"] = "fail_fast"
    on_timeout: OnTimeout = "block"
    input: list[ScannerEntry] = Field(default_factory=list)
    output: list[ScannerEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_kinds(self) -> Policy:
        for side, entries in (("input", self.input), ("output", self.output)):
            for i, e in enumerate(entries):
                kind = get_scanner(e.scanner).kind
                if kind not in (side, "both"):
                    raise ValueError(f"{side}.{i}: scanner {e.scanner} is an {kind} scanner, not an {side} one")
        return self


def _pretty(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    if not isinstance(data, dict):
        raise WinnowError(f"{source}: a policy is a mapping of fields, got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise WinnowError(f"{source}: {_pretty(e)}") from None


def default_policy_text() -> str:
    return resources.files("guardrails").joinpath("policies/default.yaml").read_text(encoding="utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """A policy file, or the default policy shipped in the package when `path` is None."""
    return read_policy_file(path)[1]


def read_policy_file(path: str | Path | None = None) -> tuple[str, Policy]:
    """(the YAML text, the policy) of a policy file, read once, or of the default policy when `path` is None."""
    if path is None:
        text, source = default_policy_text(), "default policy"
    else:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WinnowError(f"policy file not found: {p}")
        source = str(p)
        text = decode_utf8(p.read_bytes(), source, "policy")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise WinnowError(yaml_error_line(source, e)) from None
    return text, parse_policy(data, source)


def yaml_error_line(source: str, e: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: file:line:column, what is wrong, and where it started."""
    mark = getattr(e, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
    also = f" ({context} at line {cmark.line + 1}, column {cmark.column + 1})" if context and cmark else ""
    return " ".join(f"{where}: not valid YAML: {problem}{also}".split())


@dataclass
class PolicyResult:
    """A policy's answer for one text: every verdict, valid or not, the sanitized text, who blocked."""

    verdicts: list[Verdict]
    valid: bool
    sanitized: str
    blocked_by: list[str] = field(default_factory=list)
    warned_by: list[str] = field(default_factory=list)
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "sanitized": self.sanitized, "blocked_by": self.blocked_by,
                "warned_by": self.warned_by, "latency_ms": self.latency_ms,
                "verdicts": [v.to_dict() for v in self.verdicts]}


class PolicyRunner:
    """Builds each scanner of a policy once (models load here, not per call) and runs them in order."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or load_policy(None)
        self.input = [(e, self._build(e)) for e in self.policy.input]
        self.output = [(e, self._build(e)) for e in self.policy.output]

    @staticmethod
    def _build(entry: ScannerEntry) -> Scanner:
        cls = get_scanner(entry.scanner)
        return cls(cls.Config.model_validate(entry.config), threshold=entry.threshold)

    def scan_input(self, text: str) -> PolicyResult:
        return self._run(self.input, text, None)

    def scan_output(self, text: str, prompt: str | None = None) -> PolicyResult:
        return self._run(self.output, text, prompt)

    def _run(self, chain: list[tuple[ScannerEntry, Scanner]], text: str, prompt: str | None) -> PolicyResult:
        t0 = time.perf_counter()
        current = clean_text(text)
        verdicts: list[Verdict] = []
        blocked: list[str] = []
        warned: list[str] = []
        for entry, scanner in chain:
            try:
                v = scanner.scan(current, prompt, budget_ms=entry.time_budget_ms)
            except Exception as e:  # noqa: BLE001 - fail closed, never a traceback on bad input
                v = Verdict(scanner=scanner.name, valid=False, score=1.0, sanitized=current,
                            reasons=[f"scanner error: {type(e).__name__}: {e}"])
                v.action = "block"
            else:
                v.action = self._decide(entry, v, current)
            if v.action == "redact":
                current = v.sanitized
            elif v.action == "block":
                blocked.append(scanner.name)
            elif v.action == "warn":
                warned.append(scanner.name)
            verdicts.append(v)
            if blocked and self.policy.mode == "fail_fast":
                break
        return PolicyResult(verdicts=verdicts, valid=not blocked, sanitized=current, blocked_by=blocked,
                            warned_by=warned, latency_ms=(time.perf_counter() - t0) * 1000.0)

    def _decide(self, entry: ScannerEntry, v: Verdict, current: str) -> str | None:
        """The action a verdict triggers: its finding first, then (if it ran out of time) `on_timeout`."""
        action: str | None = None
        if not v.valid:
            action = entry.action
            if action == "redact" and v.sanitized == current:
                action = "block"  # nothing it can redact: fail closed
                v.reasons.append("redact action but nothing to redact: blocked")
            elif action == "redact" and v.unmapped:
                action = "block"  # part of the finding is still in the sanitized text: fail closed
                v.reasons.append("redact action but a finding could not be located in the text: blocked")
        if v.timed_out:
            v.reasons.append(f"ran past its {entry.time_budget_ms:g} ms budget")
            on_timeout = entry.on_timeout or self.policy.on_timeout
            if on_timeout == "block":
                action = "block"
                v.valid = False
            elif on_timeout == "warn" and action is None:
                action = "warn"
        return action
