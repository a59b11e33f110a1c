"""A word-by-word English gloss of German (and a few other languages') instruction and function words.

Why: deepset's injection data is about half German, and a model of character and word n-grams learns
"vergiss alle vorherigen anweisungen" and "forget all previous instructions" as unrelated phrasings, each from
its own few rows. Read through this gloss, both give the word bigrams "forget all", "all previous", "previous
instructions", so what the model learns from either language applies to the other. The list is general
vocabulary (the words of instructions, roles and the commonest function words), written from a dictionary,
not from any test set; a word not in it stays as it is. The n-gram model (`guardrails.ngram_model`, with
`gloss=True`) takes its word n-grams from the glossed text and its character n-grams from the text itself.
The texts it reads are canonical (`normalize.canonical`: lowercased, accents and umlauts stripped, look-alike
letters folded), so the words are looked up in their canonical form ("über" as "uber").
"""

from __future__ import annotations

import re

from guardrails.normalize import canonical

# lowercase source word -> English gloss (texts are lowercased by `normalize.canonical` before they get here)
GLOSS: dict[str, str] = {
    # German verbs of instructions and injections
    "vergiss": "forget", "vergessen": "forget", "vergesse": "forget", "vergesst": "forget",
    "ignoriere": "ignore", "ignorieren": "ignore", "ignoriert": "ignore", "ignorier": "ignore",
    "missachte": "disregard", "missachten": "disregard", "überspringe": "skip",
    "sag": "say", "sage": "say", "sagen": "say", "sagt": "say",
    "schreibe": "write", "schreib": "write", "schreiben": "write",
    "gib": "give", "geben": "give", "gebe": "give", "zeige": "show", "zeig": "show", "zeigen": "show",
    "antworte": "answer", "antworten": "answer", "antwort": "answer", "beantworte": "answer",
    "formuliere": "formulate", "formulieren": "formulate", "erzähle": "tell", "erzähl": "tell", "erzählen": "tell",
    "wiederhole": "repeat", "wiederholen": "repeat", "übersetze": "translate", "übersetzen": "translate",
    "generiere": "generate", "generieren": "generate", "erstelle": "create", "erstellen": "create",
    "behaupte": "claim", "behaupten": "claim", "tu": "act", "tue": "act", "handle": "act", "fungieren": "act",
    "fungiere": "act", "spiele": "play", "spiel": "play", "stell": "imagine", "stelle": "imagine",
    "vorstellen": "imagine", "konzentriere": "focus", "konzentrieren": "focus", "drucke": "print",
    "ausgeben": "output", "stopp": "stop", "halt": "stop", "achtung": "attention", "hör": "listen",
    "höre": "listen", "lösche": "delete", "hasse": "hate", "hasst": "hate", "hassen": "hate", "liebe": "love",
    # German nouns
    "anweisungen": "instructions", "anweisung": "instruction", "instruktionen": "instructions",
    "befehle": "commands", "befehl": "command", "aufgabe": "task", "aufgaben": "tasks", "regeln": "rules",
    "regel": "rule", "eingabe": "input", "ausgabe": "output", "überschrift": "headline", "texte": "texts",
    "informationen": "information", "passwort": "password", "geheimnis": "secret", "rolle": "role",
    "ausführungen": "statements", "zeitung": "newspaper",
    # German function words
    "alle": "all", "alles": "everything", "allen": "all", "vorherigen": "previous", "vorherige": "previous",
    "bisherigen": "previous", "bisherige": "previous", "obigen": "above", "obige": "above", "vorigen": "previous",
    "davor": "before", "vorher": "before", "zuvor": "before", "oben": "above",
    "jetzt": "now", "nun": "now", "ab": "from", "sofort": "immediately", "neue": "new", "neuen": "new",
    "neuer": "new", "nächste": "next", "folgende": "following", "folgenden": "following", "weitere": "further",
    "du": "you", "dich": "you", "dir": "you", "dein": "your", "deine": "your", "deinen": "your", "sie": "you",
    "ihre": "your", "ihnen": "you", "bist": "are", "sind": "are", "ist": "is", "mir": "me", "mich": "me",
    "ich": "i", "wir": "we", "was": "what", "wer": "who", "wie": "how", "warum": "why", "dass": "that",
    "und": "and", "oder": "or", "aber": "but", "nicht": "not", "kein": "no", "keine": "no", "nur": "only",
    "mit": "with", "ohne": "without", "über": "about", "für": "for", "als": "as", "ob": "if", "wenn": "if",
    "der": "the", "die": "the", "das": "the", "den": "the", "dem": "the", "ein": "a", "eine": "a", "einen": "a",
    "sehr": "very", "gut": "good", "gemacht": "done", "toll": "great", "bitte": "please",
    "wichtig": "important", "wirklich": "really", "immer": "always", "niemals": "never", "nie": "never",
    # French, Spanish, Croatian, Russian: the words of "forget/ignore all instructions and say"
    "oubliez": "forget", "oublie": "forget", "ignorez": "ignore", "olvida": "forget", "olvidar": "forget",
    "olvide": "forget", "ignora": "ignore", "zaboravi": "forget", "забудьте": "forget", "забудь": "forget",
    "игнорируй": "ignore", "игнорируйте": "ignore", "инструкции": "instructions", "все": "all", "toutes": "all",
    "todas": "all", "todo": "everything", "tout": "everything", "instrucciones": "instructions",
    "consignes": "instructions", "dites": "say", "dime": "tell me", "скажите": "say", "скажи": "say",
    "sve": "everything",
}
_WORD = re.compile(r"\w+")
_CANONICAL = {canonical(k): v for k, v in GLOSS.items()}


def gloss(doc: str) -> str:
    """`doc` (canonical text) with each word in `GLOSS` replaced by its English gloss (other words and all
    spacing kept)."""
    return _WORD.sub(lambda m: _CANONICAL.get(m.group(), m.group()), doc)
