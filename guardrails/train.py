"""Training the guardrail models that ship in `guardrails/models/` (`winnow guard train injection|toxicity`).

toxicity is curation's binary fastText classifier (`train_binary`, quantized, with character n-grams so
typos and leetspeak leftovers still share features); injection is a TF-IDF n-gram logistic regression
(`guardrails.ngram_model`: in 5-fold cross-validation on its training data it beat the fastText recipe on F1
and false positives). Both are trained from public data in a data folder laid out like `../shared/data`:

* injection: positives are deepset's prompt-injection *train* split (label 1; AdvBench is left out, see
  `SOURCES`); negatives are deepset's label-0 train rows, the self-instruct human-written instructions and
  the first human turn of each HH-RLHF harmless-base prompt. deepset's test split, MT-Bench and Vicuna are
  never read for training (`FORBIDDEN`): they measure F1 and false positives afterwards.
* toxicity: Davidson et al.'s tweets; hate speech and offensive language (class 0, 1) are positive; the
  benign prompts above (self-instruct, deepset's label-0 rows) and C4 sentences are added as negatives.

A stratified 15% of the training rows is held out and scored by a model trained the same way on the other
85%; the shipped model is then trained on every training row with the same recipe and seed. Injection
positives are also added glued inside ordinary requests, and as many glued negatives
(`augment_embedded`). The injection recipe (4 glued copies, C=16, decision threshold 0.4, word n-grams of the
English gloss, in-domain weight 3) was chosen by 5-fold cross-validation on the training rows alone (`CV_NOTE`,
`guardrails/train_cv.py`). The model card beside it records the
command, every data file with its sha256 and row count, the parameters, the held-out scores and the size.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.classifiers.fasttext_model import BinaryClassifier, TrainParams, file_sha256, train_binary
from curation.classifiers.jobs import stratified_split
from curation.classifiers.metrics import binary_metrics
from curation.errors import WinnowError
from guardrails.ngram_model import NgramClassifier, NgramParams

KINDS = ("injection", "toxicity")
MAX_MODEL_BYTES = 1_000_000
HOLDOUT = 0.15
# Evaluation-only files: a source list that names one of these is a bug.
FORBIDDEN = ("deepset_prompt_injections_test", "mtbench", "vicuna")


def models_dir() -> Path:
    """The package folder the shipped models live in."""
    return Path(__file__).resolve().parent / "models"


MODEL_FILES = {"injection": "injection.npz", "toxicity": "toxicity.bin"}


def model_path(kind: str) -> Path:
    return models_dir() / MODEL_FILES.get(kind, f"{kind}.bin")


def curation_toxicity_path() -> Path:
    """curation's own toxicity model (`curation/models/toxicity.bin`), found by path: the `toxicity` curation
    step prefers it to the scanner's. Word unigrams (`--minn 0 --maxn 0 --word-ngrams 1`): on ~330-word
    documents character n-grams cost ~10 extra lookups per word (predict 1.24 s vs 0.10 s of CPU per 2,000
    sample documents, measured), while the scanner's short, misspelt texts need them."""
    import curation

    return Path(curation.__file__).resolve().parent / "models" / "toxicity.bin"


def missing_model_message(kind: str, path: Path) -> str:
    return (f"no {kind} model at {path}: build it with `winnow guard train {kind} --data-dir ../shared/data` "
            f"(or set the scanner's `model` to a model file it wrote)")


@dataclass
class FtParams(TrainParams):
    """curation's fastText parameters plus character n-grams (subwords), which these short texts need."""

    minn: int = 2
    maxn: int = 4

    def as_fasttext(self) -> dict[str, Any]:
        return {**super().as_fasttext(), "minn": self.minn, "maxn": self.maxn}


PARAMS: dict[str, Any] = {
    # chosen by 5-fold CV on the training rows (CV_NOTE); the threshold is folded into the saved intercept
    "injection": NgramParams(char_min=2, char_max=5, word_max=2, max_char_features=30_000,
                             max_word_features=10_000, min_df=2, C=16.0, threshold=0.4, seed=0, gloss=True,
                             in_domain_weight=3.0),
    "toxicity": FtParams(dim=16, word_ngrams=2, bucket=50_000, epoch=10, lr=0.3, min_count=2, quantize=True,
                         seed=0),
}


def _jsonl(path: Path) -> pl.DataFrame:
    return pl.read_ndjson(path, infer_schema_length=None)


def _deepset(path: Path) -> pl.DataFrame:
    df = _jsonl(path)
    return df.select(pl.col("text").cast(pl.String), (pl.col("label") == 1).alias("label"))


def _advbench(path: Path) -> pl.DataFrame:
    return pl.read_csv(path).select(pl.col("goal").alias("text"), pl.lit(True).alias("label"))


def _self_instruct(path: Path) -> pl.DataFrame:
    df = _jsonl(path)
    text = pl.when(pl.col("input").fill_null("") != "").then(pl.col("instruction") + "\n" + pl.col("input")) \
        .otherwise(pl.col("instruction"))
    return df.select(text.alias("text"), pl.lit(False).alias("label"))


_FIRST_HUMAN = re.compile(r"Human:\s*(.*?)(?:\n\nAssistant:|$)", re.S)


def _hh_first_turn(path: Path) -> pl.DataFrame:
    df = _jsonl(path)
    turns = [m.group(1).strip() if (m := _FIRST_HUMAN.search(p or "")) else "" for p in df.get_column("prompt")]
    df = pl.DataFrame({"text": turns, "label": [False] * len(turns)}).filter(pl.col("text") != "")
    return df.unique("text", maintain_order=True)  # in file order: the split and augmentation are reproducible


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _c4_sentences(path: Path, limit: int = 4000) -> pl.DataFrame:
    """Sentences of C4 documents (C4 dropped every page containing a listed bad word): benign prose."""
    sents = [s.strip() for doc in _jsonl(path).get_column("text").to_list() for s in _SENTENCE.split(doc or "")]
    sents = [s for s in sents if 30 <= len(s) <= 300][:limit]
    return pl.DataFrame({"text": sents, "label": [False] * len(sents)})


def _deepset_benign(path: Path) -> pl.DataFrame:
    return _deepset(path).filter(~pl.col("label"))


def _davidson(path: Path) -> pl.DataFrame:
    df = pl.read_csv(path)
    return df.select(pl.col("tweet").alias("text"), pl.col("class").is_in([0, 1]).alias("label"))


SOURCES: dict[str, list[tuple[str, Callable[[Path], pl.DataFrame]]]] = {
    "injection": [
        ("prompts/deepset_prompt_injections_train.jsonl", _deepset),
        # AdvBench's harmful behaviours are left out on purpose: as positives they taught the model that an
        # imperative ("Write a ...") is an attack, and its false-positive rate on MT-Bench + Vicuna went from
        # 0.6% to 7.5% with deepset-test F1 no better (measured; docs/guardrails.md). Jailbreak phrasing is
        # caught by the scanner's rules instead.
        ("sft/self_instruct_human_written.jsonl", _self_instruct),
        ("preference/hh_rlhf_harmless_base_test_dpo.jsonl", _hh_first_turn),
    ],
    # Davidson's tweets alone are 83% positive and taught the model that any non-tweet text is toxic (12% of
    # MT-Bench + Vicuna prompts flagged, measured): benign prompts and C4 prose are added as negatives.
    "toxicity": [("toxicity/davidson_labeled_data.csv", _davidson),
                 ("sft/self_instruct_human_written.jsonl", _self_instruct),
                 ("prompts/deepset_prompt_injections_train.jsonl", _deepset_benign),
                 ("webtext/c4_demo.jsonl", _c4_sentences)],
}
# The in-domain source: its rows (and every positive) weigh `in_domain_weight` in the n-gram model's fit, the
# broad benign prompts 1 (there are ~6 of them per in-domain row; chosen by cross-validation, `train_cv`).
IN_DOMAIN: dict[str, str] = {"injection": "prompts/deepset_prompt_injections_train.jsonl"}

# Evaluation-only sets scored into the model card (never trained on).
EVAL_SETS: dict[str, list[tuple[str, str, Callable[[Path], pl.DataFrame]]]] = {
    "injection": [("deepset_test", "prompts/deepset_prompt_injections_test.jsonl", _deepset)],
    "toxicity": [],
}
_QUESTIONS = ["prompts/mtbench_questions.jsonl", "prompts/vicuna_questions.jsonl"]
BENIGN_EVAL: dict[str, list[str]] = {"injection": _QUESTIONS, "toxicity": _QUESTIONS}


# The columns each loader reads (named in the error when a file lacks one).
NEEDS: dict[Callable[[Path], pl.DataFrame], tuple[str, ...]] = {
    _deepset: ("text", "label"), _deepset_benign: ("text", "label"), _advbench: ("goal",),
    _self_instruct: ("instruction", "input"), _hh_first_turn: ("prompt",), _c4_sentences: ("text",),
    _davidson: ("tweet", "class")}


def read_source(path: Path, loader: Callable[[Path], Any], needs: tuple[str, ...] = ()) -> Any:
    """`loader(path)`, with a malformed file (empty, a bad JSON line, a missing or mistyped column) as one
    WinnowError naming the file and what is wrong instead of a polars error."""
    from curation.jsonl import iter_jsonl_objects

    needs = needs or NEEDS.get(loader, ())
    wanted = f" (needs {', '.join(needs)})" if needs else ""
    if path.stat().st_size == 0:
        raise WinnowError(f"{path}: the file is empty{wanted}")
    try:
        return loader(path)
    except pl.exceptions.ColumnNotFoundError as e:
        m = re.search(r'"([^"]+)"', str(e))
        missing = m.group(1) if m else str(e).splitlines()[0]
        raise WinnowError(f"{path}: no column {missing!r}{wanted}") from None
    except (pl.exceptions.PolarsError, TypeError, ValueError) as e:
        if path.suffix == ".jsonl":
            if sum(1 for _ in iter_jsonl_objects(path)) == 0:  # a bad line raises here, naming file:line
                raise WinnowError(f"{path}: no rows{wanted}") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WinnowError(f"{path}: cannot be read as training data{wanted}: {first}") from None


def load_sources(kind: str, data_dir: Path) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """(text, label, source) rows for training `kind`, and a record of each file (path, sha256, rows)."""
    if kind not in KINDS:
        raise WinnowError(f"unknown guard model {kind!r}; known: {', '.join(KINDS)}")
    frames, files = [], []
    for rel, loader in SOURCES[kind]:
        assert not any(f in rel for f in FORBIDDEN), rel
        p = data_dir / rel
        if not p.is_file():
            raise WinnowError(f"training data for {kind} not found: {p} (pass --data-dir, the folder laid out "
                              f"like ../shared/data)")
        df = read_source(p, loader).with_columns(pl.lit(rel).alias("source"))
        frames.append(df)
        files.append({"path": rel, "sha256": file_sha256(p), "rows": df.height,
                      "positives": int(df.get_column("label").sum())})
    df = pl.concat(frames).filter(pl.col("text").is_not_null() & (pl.col("text").str.strip_chars() != ""))
    df = df.unique("text", keep="first", maintain_order=True)
    n_pos = int(df.get_column("label").sum())
    if n_pos == 0 or n_pos == df.height:
        which = "positive" if n_pos == 0 else "negative"
        raise WinnowError(f"no {which} training rows for {kind} in {data_dir} (read: "
                          f"{', '.join(rel for rel, _ in SOURCES[kind])})")
    return df, files


def _question_texts(path: Path) -> list[str]:
    return [t for row in _jsonl(path).get_column("turns").to_list() for t in row[:1]]


AUGMENT = {"injection": 4, "toxicity": 0}
# The search for the last bar of issue 13 (deepset test F1 >= 0.90), by CV on training rows only (train_cv).
_SEARCH_NOTE = (
    " The search for deepset test's 0.90 bar (2026-11-30 15:30-15:55 UTC; `python -m guardrails.train_cv --seeds 0,1 "
    "--grouping shared-phrase`, which also keeps rows sharing a word 4-gram of their English gloss in one fold and so "
    "scores lower than near-duplicate CV, as the test split does): the shipped recipe 0.887 / 0.905 with 9 / 9 of "
    "the 427 held-out self-instruct instructions flagged; C=4, word 1-3-grams, in-domain weight 5, role-play gate "
    "0.1 and sentence-max scoring (also NB-weighted LR, a 32-unit MLP, sentence and question markers, and gluing "
    "positives onto deepset's own benign rows, tried in a scratch copy of the CV) lie on the same F1 / "
    "false-positive frontier: F1 >= 0.91 there costs 13 or more self-instruct false positives (3% or more), and none "
    "beat the shipped recipe by more than the seed-to-seed spread at no more of them, so the model was kept and "
    "deepset's test split was not scored again")
CV_NOTE = ("5-fold CV on the training rows only (`python -m guardrails.train_cv`: deepset train + self-instruct + HH "
           "first turns; deepset rows grouped by near-duplicates, word-trigram Jaccard >= 0.3, so a template stays in "
           "one fold; the scanner's rules on): F1 on the deepset-train folds / false positives among 2,600 held-out "
           "self-instruct + HH prompts, at the recipe's threshold. This recipe (word n-grams of the English gloss of "
           "German instruction words, positives and deepset rows weighted 3): 0.897 / 10 (fold seed 0) and "
           "0.902 / 11 (seed 1); the model before (no gloss, unweighted; same rules) 0.874 / 9; gloss only "
           "0.900 / 10; weights only 0.897 / 10; the threshold one step lower 0.906 / 16 and 0.910 / 16 (more false "
           "positives for little F1). The scanner as it ships (also role-play openers where P >= 0.2): 0.911 / 10 "
           "and 0.914 / 11. Earlier choices kept: n-gram LR over fastText, 4 glued copies, C=16, "
           "AdvBench left out (as positives: 32 false positives)." + _SEARCH_NOTE)


def augment_embedded(df: pl.DataFrame, copies: int, seed: int = 0) -> pl.DataFrame:
    """Add `copies` extra copies of each positive, each glued before or after a random short negative (an
    injection usually hides inside an ordinary request, and 200 bare positives do not teach that), and as
    many negatives made of two or more glued negatives, so that length and gluing alone teach nothing
    (without them, benign prompts padded to 1 KB were flagged 13% of the time, measured)."""
    if copies <= 0:
        return df
    rng = np.random.default_rng(seed)
    pos = df.filter(pl.col("label")).get_column("text").to_list()
    neg = [t for t in df.filter(~pl.col("label")).get_column("text").to_list() if len(t) < 300]
    if not pos or not neg:
        return df
    texts, labels = [], []
    for _ in range(copies):
        for p in pos:
            b = neg[int(rng.integers(len(neg)))]
            texts.append(f"{b} {p}" if rng.random() < 0.5 else f"{p} {b}")
            labels.append(True)
            parts = [neg[int(i)] for i in rng.integers(len(neg), size=int(rng.integers(2, 5)))]
            texts.append(" ".join(parts))
            labels.append(False)
    extra = pl.DataFrame({"text": texts, "label": labels})
    return pl.concat([df.select("text", "label"), extra]).sample(fraction=1.0, shuffle=True, seed=seed)


def card_paths(out: Path) -> tuple[Path, Path]:
    """The model card beside a model: `<out stem>.json` (data) and `.md` (for people)."""
    return out.with_suffix(".json"), out.with_suffix(".md")


def check_model_out(out: str | Path) -> Path:
    """Refuse a model path the card would overwrite (a .json or .md name) or that is a folder."""
    out = Path(out).expanduser()
    if out.suffix.lower() in (".json", ".md"):
        raise WinnowError(f"--out {out}: the model card is written beside the model as .json and .md, so the "
                          f"model cannot have that suffix; give e.g. {out.with_suffix('.bin').name} or "
                          f"{out.with_suffix('.npz').name}")
    if out.is_dir():
        raise WinnowError(f"--out {out} is a folder: give the model's file path")
    card_json, card_md = card_paths(out)
    ours = is_our_card(card_json, out)
    for p in (out, card_json, card_md):
        if (p.exists() or p.is_symlink()) and not ours:
            raise WinnowError(f"--out {out}: {p} exists and is not a Winnow card or model for {out.name} (training "
                              f"writes {out.name}, {card_json.name} and {card_md.name}); move it or give another --out")
    return out


CARD_MARKER = "winnow guard train"  # a card's `written_by`: how a rerun knows the files at --out are its own


def is_our_card(card_json: Path, out: Path) -> bool:
    """Whether `card_json` is a card `guard train` wrote for the model at `out`: its `written_by` marker, or (a
    card written before the marker) its kind, model name, sha256 and rebuild command; then the model and the
    .md beside it are ours to replace too."""
    try:
        card = json.loads(card_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(card, dict) or card.get("model") != out.name or card.get("kind") not in KINDS:
        return False
    return card.get("written_by") == CARD_MARKER or (
        isinstance(card.get("sha256"), str) and str(card.get("command", "")).startswith(CARD_MARKER))


def train_guard_model(kind: str, data_dir: str | Path, out: str | Path | None = None, seed: int = 0,
                      command: str | None = None, progress_dir: str | Path | None = None,
                      overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, score on held-out data, write the model and its card; returns the card's data. With
    `progress_dir`, its stages go to `<progress_dir>/progress.jsonl` (the app follows it). `overrides`
    replaces fastText parameters of `PARAMS` (dim, bucket, epoch, ...)."""
    from curation.progress import Progress

    data_dir = Path(data_dir).expanduser()
    out = check_model_out(out) if out else model_path(kind)
    if progress_dir is not None:
        Path(progress_dir).mkdir(parents=True, exist_ok=True)
    prog = Progress(progress_dir, f"guard-train-{kind}", total=4, unit="stages")
    prog.message("reading data")
    df, files = load_sources(kind, data_dir)
    prog.update(1, "training the held-out model")
    from dataclasses import replace

    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given and isinstance(PARAMS[kind], NgramParams):
        flags = " --".join(k.replace("_", "-") for k in given)
        raise WinnowError(f"--{flags}: fastText settings; the {kind} model is an n-gram logistic "
                          f"regression (its recipe is PARAMS in guardrails/train.py)")
    params = replace(PARAMS[kind], seed=seed, **given)
    # Models and cards are written under a temporary folder beside `out` and renamed into place only after the
    # size check: a failed or rejected run leaves the previous model and its card as they were.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp_model = tmp / out.name
    try:
        train, held = stratified_split(df.select("text", "label"), HOLDOUT, seed=seed)
        in_domain = in_domain_texts(kind, df)
        # 1. the held-out score: a model trained the same way on the other 85%
        scores: dict[str, Any] = {"heldout": _metrics(_fit(augment_embedded(train, AUGMENT[kind], seed),
                                                           tmp / f"heldout-{out.name}", params, in_domain), held)}
        prog.update(1, "training the shipped model")
        # 2. the shipped model: the same recipe on every training row
        clf = _fit(augment_embedded(df.select("text", "label"), AUGMENT[kind], seed), tmp_model, params, in_domain)
        prog.update(1, "scoring")
        for name, rel, loader in EVAL_SETS[kind]:
            p = data_dir / rel
            if p.is_file():
                ev = read_source(p, loader)
                scores[name] = _metrics(clf, ev)
                files.append({"path": rel, "sha256": file_sha256(p), "rows": ev.height, "use": "evaluation"})
        benign = []
        for rel in BENIGN_EVAL[kind]:
            p = data_dir / rel
            if p.is_file():
                texts = read_source(p, _question_texts, ("turns",))
                benign.extend(texts)
                files.append({"path": rel, "sha256": file_sha256(p), "rows": len(texts), "use": "evaluation"})
        if benign:
            prob = clf.predict_proba(benign)
            scores["benign_fpr"] = {"n": len(benign), "fpr": float((prob >= 0.5).mean()),
                                    "texts": "MT-Bench + Vicuna first turns"}
        size = tmp_model.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise WinnowError(f"the trained model is {size} bytes, over the {MAX_MODEL_BYTES} shipped-model limit, "
                              f"so it was not written ({out} and its card are unchanged): lower --dim or --bucket")
        used_by = ("curation" if kind == "toxicity" and out.resolve() == curation_toxicity_path()
                   else "guardrails")
        card = {"written_by": CARD_MARKER, "kind": kind, "model": out.name, "sha256": file_sha256(tmp_model),
                "size_bytes": size,
                "used_by": used_by,
                "command": command or f"winnow guard train {kind} --data-dir {data_dir}",
                "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": platform.platform(),
                "rows": {"train": df.height, "heldout": held.height, "augment_copies": AUGMENT[kind],
                         "train_positives": int(df.get_column("label").sum())},
                "params": {k: v for k, v in params.__dict__.items()}, "files": files, "scores": scores,
                **({"selection": CV_NOTE} if kind == "injection" else {})}
        card_json, card_md = card_paths(out)
        (tmp / card_json.name).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        (tmp / card_md.name).write_text(model_card_markdown(card), encoding="utf-8")
        # every check passed: the model, then its card, replace the old ones (renames within one folder)
        for final in (out, card_json, card_md):
            os.replace(tmp / final.name, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prog.update(1)
    prog.close()
    return card


def in_domain_texts(kind: str, df: pl.DataFrame) -> set[str]:
    """The texts of `kind`'s in-domain source among (text, label, source) rows."""
    rel = IN_DOMAIN.get(kind)
    return set(df.filter(pl.col("source") == rel).get_column("text").to_list()) if rel else set()


def fit_ngram(df: pl.DataFrame, params: NgramParams, in_domain: set[str],
              weight_of: dict[str, float] | None = None) -> NgramClassifier:
    """The n-gram model of (text, label) rows; positives and `in_domain` texts weigh `params.in_domain_weight`,
    texts in `weight_of` the weight it gives."""
    texts, labels = df.get_column("text").to_list(), df.get_column("label").to_numpy()
    w, given = params.in_domain_weight, weight_of or {}
    weight = None if w == 1.0 and not given else np.array(
        [given.get(t, w if (y or t in in_domain) else 1.0) for t, y in zip(texts, labels, strict=True)])
    return NgramClassifier.fit(texts, labels, params, sample_weight=weight)


def _fit(df: pl.DataFrame, out: Path, params: Any, in_domain: set[str] | None = None) -> Any:
    """Train `params`' kind of model on (text, label) rows, write it to `out`, return it loaded from there."""
    if isinstance(params, NgramParams):
        fit_ngram(df, params, in_domain or set()).save(out)
        return NgramClassifier.load(out)
    train_binary(df, out, params)
    return BinaryClassifier(out)


def _metrics(clf: Any, df: pl.DataFrame) -> dict[str, Any]:
    prob = clf.predict_proba(df.get_column("text"))
    m = binary_metrics(df.get_column("label").to_numpy(), prob)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}


def _used_by(card: dict[str, Any]) -> str:
    if card.get("used_by") == "curation":
        return ("Used by curation's `toxicity` step when neither the recipe nor the workspace names a model. "
                "Word unigrams only (no character n-grams or word bigrams: documents of hundreds of words score "
                "~10x faster, measured); the "
                "`toxicity` guardrail scanner keeps its own character n-gram model (guardrails/models/toxicity.bin), "
                "which short, misspelt messages need.")
    if card["kind"] == "toxicity":
        return ("Used by the `toxicity` guardrail scanner, and by curation's `toxicity` step when neither the "
                "workspace nor curation/models/ has a model.")
    return f"Used by the `{card['kind']}` guardrail scanner."


def model_card_markdown(card: dict[str, Any]) -> str:
    """The human-readable model card (`<kind>.md`) beside the model."""
    what = ("A logistic regression over TF-IDF of hashed character (2-5, inside words) and word (1-2) n-grams "
            "(`guardrails/ngram_model.py`)" if "threshold" in card["params"] else
            "A quantized binary fastText classifier")
    lines = [f"# {card['kind']} model card (`{card['model']}`)", "",
             f"{what} trained by Winnow from public data: P({card['kind']}) of a text. " + _used_by(card), "",
             f"- Rebuild: `{card['command']}`",
             f"- Trained: {card['trained']} on {card['machine']}",
             f"- Size: {card['size_bytes']} bytes; sha256 `{card['sha256']}`",
             f"- Rows: {card['rows']['train']} train ({card['rows']['train_positives']} positive) before "
             f"augmentation ({card['rows']['augment_copies']} embedded copies of each positive); the held-out "
             f"row below is a model trained the same way on the other {1 - HOLDOUT:.0%} ({card['rows']['heldout']} "
             f"rows held out, stratified); the shipped model is trained on all of them",
             f"- Parameters: {', '.join(f'{k}={v}' for k, v in card['params'].items())}",
             *([f"- How the recipe was chosen: {card['selection']}"] if card.get("selection") else []), "",
             "## Data", "", "| file | use | rows | sha256 |", "|---|---|---|---|"]
    for f in card["files"]:
        lines.append(f"| `{f['path']}` | {f.get('use', 'training')} | {f['rows']} | `{f['sha256']}` |")
    folded = (f", i.e. the fitted model's P >= {card['params']['threshold']}" if "threshold" in card["params"]
              else "")
    lines += ["", f"## Held-out scores (P >= 0.5{folded})", "", "| set | n | precision | recall | F1 | ROC-AUC | FPR |",
              "|---|---|---|---|---|---|---|"]
    for name, m in card["scores"].items():
        if "fpr" in m and "precision" not in m:
            lines.append(f"| {name} ({m['texts']}) | {m['n']} | | | | | {m['fpr']:.4f} |")
            continue
        fpr = m["fp"] / (m["fp"] + m["tn"]) if (m["fp"] + m["tn"]) else 0.0
        auc = f"{m['roc_auc']:.4f}" if m.get("roc_auc") is not None else "-"
        lines.append(f"| {name} | {m['n']} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {auc} "
                     f"| {fpr:.4f} |")
    lines += ["", "These are the classifier's own scores; the scanner adds normalisation"
              + (" and rules" if card["kind"] == "injection" else " and an optional word list")
              + " (see docs/guardrails.md for the scanner's numbers).", ""]
    return "\n".join(lines)


def describe_model(path: Path) -> dict[str, Any]:
    """sha256 and size of a model file, for verdict reasons and manifests."""
    return {"model": str(path), "sha256": file_sha256(path), "size_bytes": path.stat().st_size}


