"""Prompt injection and jailbreak: an n-gram classifier trained on public data, plus rules for known phrasings.

The classifier (`guardrails/models/injection.npz`, a TF-IDF n-gram logistic regression built by
`winnow guard train injection`, see its model card) scores every normalised form of the text: the canonical
form, leetspeak and spaced letters read back, and decoded base64/hex/rot13/tag payloads
(`guardrails.normalize`), so those evasions change nothing. The
rules catch the phrasings every jailbreak list repeats ("ignore all previous instructions", "you are now
DAN", "reveal your system prompt", their German forms) on the same forms, and score `rule_score`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import regex
from pydantic import Field

from guardrails.base import Scanner, ScannerConfig, Verdict, chunks
from guardrails.classifier import load_classifier, score_forms
from guardrails.normalize import normalize

_GAP = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between
_GAP2 = r"(?:\W+\w+){0,2}?\W+"
_OLD = r"(?:previous|prior|above|earlier|preceding|initial|original|system|all|any|your|these|those|the|my)"
_ORDERS = (r"(?:instructions?|prompts?|rules|directions?|guidelines|context|commands?|orders|programming|"
           r"constraints|restrictions|messages?|tasks?|assignments?|information)")
RULES: dict[str, str] = {
    "ignore previous instructions":
        r"\b(?:ignore|disregard|forget|skip|bypass|override|neglect|drop|abandon|remove|change)" + _GAP + _OLD + _GAP2
        + _ORDERS + r"\b",
    "forget everything": r"\b(?:forget|ignore|disregard)(?: about)? (?:everything|all of (?:that|this|it)|all that|"
                         r"what (?:i|you|we) (?:said|told|were told|discussed))\b",
    "new task pivot": r"\b(?:now|but now|next)\W+(?:\w+\W+){0,3}?(?:focus|concentrate|move on)\W+(?:\w+\W+){0,2}?"
                      r"(?:new|next|following|other) (?:task|assignment|instructions?)\b",
    "role override": r"\b(?:you are|you're|you will be|from now on,? you(?: are| will)?|now you are|act as|pretend "
                     r"(?:to be|you are)|roleplay as)\b.{0,40}\b(?:dan|stan|dude|aim|evil|unfiltered|uncensored|"
                     r"jailbroken|unrestricted|no longer (?:an? )?(?:ai|assistant|bound|restricted))\b",
    "jailbreak mode": r"\b(?:do anything now|developer mode|dan mode|jailbreak(?:ed|ing)?|god mode|unrestricted mode|"
                      r"without (?:any )?(?:restrictions|filters|censorship|limitations|guidelines))\b",
    "prompt extraction": r"\b(?:reveal|show|print|display|repeat|output|leak|tell me|give me|write out|spell out)\b"
                         r"(?:\W+\w+){0,3}?\W+(?:system|initial|original|hidden|secret|previous|above|first|your)\W+"
                         r"(?:prompts?|instructions?|message|rules|prompt texts?)\b",
    "new instructions": r"(?:^|\n|\. )\s*(?:new|updated|real|actual|additional) (?:instructions?|task|rules|system "
                        r"prompt)\s*[:\-]",
    "output override": r"\b(?:just|only|simply) (?:output|say|print|write|answer with)\W+[\"'\u201c]",
    "praise then pivot": r"\b(?:well done|very good|very well done|good job|great job|"
                         r"excellent (?:work|performance|job)|that is (?:enough|done)|that's (?:enough|done)|"
                         r"congratulations)\b[^.!?\n]{0,30}[.!?]\s+"
                         r"(?:\w+\W+){0,6}?(?:now|next|further|new)\b",
    "stop and do": r"(?:^|[.!?]\s+|\s)stop\s*[:,\-!]+\s*(?:ignore|write|say|print|output|answer|forget)\b",
    "despite what you were told": r"\b(?:despite|regardless of|contrary to) what (?:you(?:'ve| have)? been|you were) "
                                  r"(?:told|instructed)\b|\bdisregarding (?:the|your|all|any) (?:articles?|documents?|"
                                  r"context|instructions?|rules)\b",
    "ignore the context": r"\b(?:do not|don't|not) (?:look|search|use|rely) (?:in|at|on|by)?\s*(?:the )?(?:documents?|"
                          r"articles?|context|provided (?:text|documents?))\b|\bnot by the articles\b",
    "lob dann wende (de)": r"\b(?:sehr gut(?: gemacht)?|gut gemacht|ausgezeichnet|hervorragend|super gemacht|"
                           r"wunderbar|das genügt|das reicht|toll gemacht)\b[^.!?\n]{0,30}[.!?]\s+(?:\w+\W+){0,8}?"
                           r"(?:nun|jetzt|weitere|neue)\b",
    "stopp (de)": r"(?:^|[.!?]\s+|\s)stopp?\s*[:,\-!]+\s*(?:ignoriere|schreibe|sag|gib|vergiss)\b",
    "abweichend (de)": r"\babweichend (?:zu|von) (?:den |der |allen )?(?:vorherigen|obigen|bisherigen|vorigen)\b|"
                       r"\b(?:die |alle )?(?:obigen|vorherigen|bisherigen|vorigen) (?:ausführungen|anweisungen|"
                       r"instruktionen|befehle|regeln) (?:ignorieren|vergessen|missachten)\b|\bachtung\W+stopp\b",
    "ignorieren (de)": r"\b(?:ignoriere|ignorieren sie|vergiss|vergessen sie|missachte|missachten sie|lassen sie)\b"
                       r"(?:\W+\w+){0,4}?\W+(?:alle|alles|vorherigen|obigen|bisherigen|vorigen|anweisungen|"
                       r"befehle|regeln|aufgaben|instruktionen)\b",
    "neue aufgabe (de)": r"\b(?:nun|jetzt)\W+(?:\w+\W+){0,4}?(?:neue[nr]? (?:aufgaben?|anweisungen)|weitere "
                         r"aufgaben?)\b",
    "rollenwechsel (de)": r"\b(?:du bist (?:jetzt|nun|ab sofort)|sie sind (?:jetzt|nun|ab sofort)|ab (?:jetzt|sofort) "
                          r"bist du|nun bist du|jetzt bist du|tu so,? als (?:ob|wärst))\b",
    "zaboravi / olvida todo (hr, es)": r"\b(?:zaboravi|zaboravite) sve\b|\b(?:olvida|olvide) todo\b",
    "oubliez / olvida (fr, es)": r"\b(?:oubliez|oublie|ignorez|ignore[sz]?|olvida|olvide|ignora)\b(?:\W+\w+){0,3}?\W+"
                                 r"(?:instructions|consignes|instrucciones|reglas)\b",
    # "forget everything / ignore the instructions" in Italian, Portuguese, Dutch, Polish and Spanish infinitives
    # (canonical forms: accents stripped, so "esqueça as instruções" is read as "esqueca as instrucoes")
    "dimentica / esqueca / vergeet (it, pt, nl, pl, es)":
        r"\b(?:dimentica(?:te)?|ignorate|esqueca|esquece|vergeet|negeer|zapomnij|zignoruj|olvidar|ignorar)\b"
        r"(?:\W+\w+){0,3}?\W+(?:tutto|tutte|istruzioni|tudo|todas|instrucoes|alles|alle|instructies|"
        r"wszystko|instrukcje|todo|instrucciones)\b",
}
# Each rule can only match where one of these substrings occurs: a plain `in` test (C speed) skips its regex
# on almost every benign text. (A superset condition: every match of the rule contains one of them.)
TRIGGERS: dict[str, tuple[str, ...]] = {
    "ignore previous instructions": ("ignore", "disregard", "forget", "skip", "bypass", "override", "neglect",
                                     "drop", "abandon", "remove", "change"),
    "forget everything": ("forget", "ignore", "disregard"),
    "new task pivot": ("focus", "concentrate", "move on"),
    "role override": ("you are", "you're", "you will be", "from now on", "act as", "pretend", "roleplay as"),
    "jailbreak mode": ("do anything now", "developer mode", "dan mode", "jailbreak", "god mode", "unrestricted mode",
                       "without"),
    "prompt extraction": ("prompt", "instruction", "message", "rules"),
    "new instructions": (":", "-"),
    "output override": ("just", "only", "simply"),
    "praise then pivot": ("well done", "very good", "good job", "great job", "excellent", "that is", "that's",
                          "congratulations"),
    "stop and do": ("stop",),
    "despite what you were told": ("despite", "regardless", "contrary", "disregarding"),
    "ignore the context": ("not",),
    "lob dann wende (de)": ("gut", "gemacht", "ausgezeichnet", "hervorragend", "wunderbar", "genügt", "reicht"),
    "stopp (de)": ("stop",),
    "abweichend (de)": ("abweichend", "ignorieren", "vergessen", "missachten", "stopp"),
    "ignorieren (de)": ("ignorier", "vergiss", "vergessen", "missacht", "lassen sie"),
    "neue aufgabe (de)": ("aufgabe", "anweisungen"),
    "rollenwechsel (de)": ("du bist", "sie sind", "bist du", "tu so"),
    "zaboravi / olvida todo (hr, es)": ("zaboravi", "olvid"),
    "oubliez / olvida (fr, es)": ("oubli", "ignor", "olvid"),
    "dimentica / esqueca / vergeet (it, pt, nl, pl, es)": ("dimentica", "ignor", "esquec", "vergeet", "negeer",
                                                           "zapomnij", "zignoruj", "olvid"),
}
# The forms the rules read are canonical (`normalize.canonical` strips accents and umlauts: "das genügt" is read as
# "das genugt"), so the rules' own umlauts are stripped the same way, or they could never match.
_STRIP = str.maketrans("äöüÄÖÜ", "aouAOU")
_RULES = [(name, tuple(t.translate(_STRIP) for t in TRIGGERS[name]), regex.compile(p.translate(_STRIP), regex.I))
          for name, p in RULES.items()]

# Role-play openers ("I want you to act as", "you are now", "pretend you are", "stell dir vor, du bist"): the way
# jailbreaks begin, and also how ordinary role-play requests begin ("act as a math teacher"). Alone they prove
# nothing, so they count only where the classifier already leans towards an injection (P >= `role_play_gate`):
# in cross-validation on the training rows (guardrails/train_cv.py) that caught more injections with no more
# false positives on the held-out benign prompts; a bare rule would flag every role-play question.
ROLE_PLAY = regex.compile(
    r"\b(?:you are now|now you are|from now on,? you|pretend (?:that )?(?:you are|you're|to be|you can)|"
    r"(?:i want you to |please )?act as (?:a|an|my)\b|imagine (?:that )?you are|you will (?:now )?(?:act|play|"
    r"pretend)|stell dir vor,? (?:du bist|dass du)|tu so,? als|du bist (?:jetzt|nun|ab sofort)|ab (?:jetzt|sofort) "
    r"bist du|spiele? die rolle|ich mochte,? dass (?:du|sie) als)", regex.I)


class InjectionConfig(ScannerConfig):
    model: str | None = Field(None, description="model file written by `winnow guard train injection` (default: the "
                                                "shipped guardrails/models/injection.npz; a fastText .bin works too)")
    rules: bool = Field(True, description="also match known injection phrasings")
    rule_score: float = Field(0.95, ge=0, le=1, description="score of a rule match")
    role_play_gate: float = Field(0.2, ge=0, le=1, description="a role-play opener scores `rule_score` where the "
                                                               "classifier gives at least this (1: never)")


class Injection(Scanner):
    """Flags prompt injections and jailbreaks; scores the riskiest normalised form of the text."""

    name: ClassVar[str] = "injection"
    kind: ClassVar[str] = "input"
    Config: ClassVar[type[ScannerConfig]] = InjectionConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: InjectionConfig = self.config  # type: ignore[assignment]
        self.clf = load_classifier("injection", cfg.model)
        score_forms(self.clf, "warm up: the first predict loads its libraries")

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: InjectionConfig = self.config  # type: ignore[assignment]
        best = score_forms(self.clf, text, self.expired)
        reasons = [f"classifier {best.prob:.2f} on the {best.form} form"] if best.prob >= self.threshold else []
        score = best.prob
        if cfg.rules:
            hit = self.match_rules(text)
            if hit is not None:
                score = max(score, cfg.rule_score)
                reasons.append(f"rule '{hit[0]}' on the {hit[1]} form")
            elif best.prob >= cfg.role_play_gate and ROLE_PLAY.search(best.text):
                score = max(score, cfg.rule_score)
                reasons.append(f"role-play opener with classifier {best.prob:.2f} on the {best.form} form")
        return self.verdict(text, score, reasons=reasons)

    def match_rules(self, text: str) -> tuple[str, str] | None:
        """(rule name, form) of the first rule matching any normalised form of the text, else None."""
        for _, piece in chunks(text):
            norm = normalize(piece)
            forms = [("text", norm.canonical), ("leetspeak/spacing", norm.folded), *norm.decoded]
            for how, form in forms:
                low = form.lower()
                for name, triggers, rx in _RULES:
                    if any(t in low for t in triggers) and rx.search(form):
                        return name, how
            if self.expired():
                break
        return None
