"""`winnow eval run` against a direct lm-eval run, the request cache, and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from app.cli import main
from app.registry import RunRegistry
from curation.errors import WinnowError
from evaluation.model import resolve_model
from evaluation.runner import EvalConfig, prepare, run_eval
from evaluation.store import import_dir
from tests.evaluation.conftest import mmlu_subjects, write_jsonl, write_store


def _direct_include(store: Path, d: Path) -> Path:
    """Task YAML written by hand as STACK.md says (include the built-in task, override data + splits)."""
    import lm_eval

    tasks = Path(lm_eval.__file__).parent / "tasks"
    d.mkdir(parents=True)

    def w(name: str, builtin: str, files: dict[str, Path], **splits: object) -> None:
        cfg = {"include": str(tasks / builtin), "task": name, "dataset_path": "json", "dataset_name": None,
               "dataset_kwargs": {"data_files": {k: str(v) for k, v in files.items()}}, **splits}
        (d / f"{name}.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")

    arc = {s: store / "arc_easy" / f"{s}.jsonl" for s in ("train", "validation", "test")}
    w("arc_easy", "arc/arc_easy.yaml", arc)
    w("hellaswag", "hellaswag/hellaswag.yaml", {"validation": store / "hellaswag" / "validation.jsonl"},
      training_split=None)
    tq = {"validation": store / "truthfulqa_mc" / "validation.jsonl"}
    w("truthfulqa_mc1", "truthfulqa/truthfulqa_mc1.yaml", tq)
    w("truthfulqa_mc2", "truthfulqa/truthfulqa_mc2.yaml", tq)
    rows = {s: [json.loads(x) for x in (store / "mmlu" / f"{s}.jsonl").read_text().splitlines()]
            for s in ("test", "dev")}
    for subj in mmlu_subjects():
        files = {s: write_jsonl(d / "data" / subj / f"{s}.jsonl", [r for r in rows[s] if r["subject"] == subj])
                 for s in ("test", "dev")}
        w(f"mmlu_{subj}", f"mmlu/default/mmlu_{subj}.yaml", files)
    return d


@pytest.mark.slow
def test_scores_equal_direct_lm_eval(tiny_model: Path, tiny_store: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    ws, out = tmp_path / "ws", tmp_path / "rep"
    benches = "arc_easy,hellaswag,truthfulqa_mc1,truthfulqa_mc2,mmlu"
    rc = main(["eval", "run", "--model", str(tiny_model), "--benchmarks", benches, "--num-fewshot", "1",
               "--batch-size", "2", "--data-dir", str(tiny_store), "--out", str(out), "--workspace", str(ws)])
    assert rc == 0, capsys.readouterr().err
    rep = json.loads((out / "report.json").read_text())
    ours = json.loads((out / rep["files"]["results"]).read_text())

    tm = TaskManager(include_path=str(_direct_include(tiny_store, tmp_path / "direct")))
    direct = lm_eval.simple_evaluate(model="hf", model_args={"pretrained": str(tiny_model), "dtype": "float32"},
                                     tasks=benches.split(","), num_fewshot=1, batch_size=2, device="cpu",
                                     task_manager=tm, log_samples=True)
    assert set(ours["results"]) == set(direct["results"])
    for task, row in direct["results"].items():
        for key, val in row.items():
            if "," in key:
                assert ours["results"][task][key] == val, (task, key)
    for b, s in rep["scores"].items():
        assert s["value"] == direct["results"][b][f"{s['metric']},none"]
    # per-sample responses identical too
    first = (out / rep["files"]["samples"]["arc_easy"]).read_text().splitlines()[0]
    assert json.loads(first)["resps"] == [[[str(x) for x in t] for t in r]
                                          for r in direct["samples"]["arc_easy"][0]["resps"]]
    fp = rep["fingerprint"]
    # lm-eval keeps TruthfulQA at 0-shot whatever --num-fewshot says; the fingerprint records what ran
    assert fp["num_fewshot"] == {"arc_easy": 1, "hellaswag": 1, "mmlu": 1, "truthfulqa_mc1": 0, "truthfulqa_mc2": 0}
    assert fp["model"]["weights_sha256"] and fp["lm_eval_version"] == lm_eval.__version__
    assert "weight_by_size" in rep["scores"]["mmlu"]["average"]
    assert (out / "scores.png").stat().st_size > 1000
    with RunRegistry(ws) as reg:
        run = reg.list(kind="eval")[0]
    assert run.status == "done" and run.metrics["arc_easy/acc_norm"] == rep["scores"]["arc_easy"]["value"]


def test_rerun_uses_request_cache(tiny_model: Path, tiny_store: Path, tmp_path: Path) -> None:
    held = tmp_path / "held.txt"
    held.write_text("The cat sat on the mat.\n\nNothing happens when you eat seeds.\n")
    cfg = EvalConfig(model=str(tiny_model), out=tmp_path / "a", data_dir=tiny_store, cache_dir=tmp_path / "cache",
                     benchmarks=["arc_easy", "truthfulqa_mc2"], batch_size=2, device="cpu", perplexity=held)
    first = run_eval(cfg)
    t1 = time.perf_counter()
    cfg.out = tmp_path / "b"
    second = run_eval(cfg)
    t2 = time.perf_counter()
    msgs = [json.loads(x)["msg"] for x in (tmp_path / "b" / "progress.jsonl").read_text().splitlines()]
    cached = [m for m in msgs if m and m.startswith("Cached requests")]
    assert cached and all(m.endswith("Requests remaining: 0") for m in cached)
    assert second["scores"] == first["scores"]
    ppl = first["perplexity"]
    assert ppl == second["perplexity"] and 0 < ppl["bits_per_byte"] < 20 and ppl["word_perplexity"] > 1
    assert t2 - t1 < 30  # seconds, not a re-run of the model (the first run also built the datasets cache)
    # a different model must not hit the first model's cache
    assert len(list((tmp_path / "cache" / "requests").glob("*.db"))) == 1


def test_adapter_and_synthetic_marker(tiny_model: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    peft_model = get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"],
                                                 task_type="CAUSAL_LM", init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(adapter)
    data = tmp_path / "syn"
    for split in ("test", "validation", "train"):
        write_jsonl(data / "arc_easy" / f"{split}.jsonl", [
            {"id": f"s{i}", "question": f"Synthetic {i}?", "choices": {"text": ["a", "b"], "label": ["A", "B"]},
             "answerKey": "A"} for i in range(3)])
    (data / "SYNTHETIC.txt").write_text("generated\n")
    store_dir = tmp_path / "ws" / "benchmarks"  # imported into a workspace store, the marker follows the folder
    assert import_dir(data, store_dir)[0]["synthetic"]
    base_cfg = dict(data_dir=store_dir, cache_dir=tmp_path / "cache", benchmarks=["arc_easy"], device="cpu")
    rep_a = run_eval(EvalConfig(model=str(adapter), out=tmp_path / "ra", **base_cfg))
    rep_b = run_eval(EvalConfig(model=str(tiny_model), out=tmp_path / "rb", **base_cfg))
    assert rep_a["fingerprint"]["model"]["kind"] == "adapter"
    assert rep_a["fingerprint"]["model"]["weights_sha256"] != rep_b["fingerprint"]["model"]["weights_sha256"]
    assert rep_a["fingerprint"]["synthetic_data"] and "SYNTHETIC" in rep_a["notes"][0]
    la = json.loads((tmp_path / "ra" / rep_a["files"]["samples"]["arc_easy"]).read_text().splitlines()[0])
    lb = json.loads((tmp_path / "rb" / rep_b["files"]["samples"]["arc_easy"]).read_text().splitlines()[0])
    assert la["resps"] != lb["resps"]  # the (non-zero) LoRA weights were applied
    # `winnow train` adapters: peft writes the base as given (maybe relative to another folder); the
    # training manifest's absolute base path finds it
    acfg = json.loads((adapter / "adapter_config.json").read_text())
    acfg["base_model_name_or_path"] = "models/tiny-elsewhere"
    (adapter / "adapter_config.json").write_text(json.dumps(acfg))
    (adapter / "manifest.json").write_text(json.dumps({"base_model": {"path": str(tiny_model)}}))
    assert resolve_model(str(adapter)).pretrained == str(tiny_model.resolve())


def test_bad_input_fails_before_work(tiny_model: Path, tiny_store: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def cfg(**kw: object) -> EvalConfig:
        base = dict(model=str(tiny_model), out=tmp_path / "o", data_dir=tiny_store, cache_dir=tmp_path / "c",
                    benchmarks=["arc_easy"])
        return EvalConfig(**{**base, **kw})

    with pytest.raises(WinnowError, match="unknown benchmark"):
        prepare(cfg(benchmarks=["arc_hard"]))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WinnowError, match="winnow data pull hellaswag"):
        prepare(cfg(benchmarks=["hellaswag"], data_dir=empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(WinnowError, match="does not load"):
        prepare(cfg(model=str(broken)))
    with pytest.raises(WinnowError, match="neither config.json"):
        prepare(cfg(model=str(empty)))
    with pytest.raises(WinnowError, match="either --benchmarks or --preset"):
        prepare(cfg(preset="leaderboard-v1"))
    with pytest.raises(WinnowError, match="cannot be combined"):
        prepare(cfg(preset="leaderboard-v1", benchmarks=[], num_fewshot=3))
    # the preset fixes few-shot per task in the generated YAML
    benches, _, metrics, ts, _ = prepare(cfg(preset="leaderboard-v1", benchmarks=[]))
    assert benches == ["arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2"]
    assert metrics == {"arc_challenge": "acc_norm", "hellaswag": "acc_norm", "mmlu": "acc", "truthfulqa_mc2": "acc"}
    shots = {n: yaml.safe_load((ts.include_dir / f"{n}.yaml").read_text())["num_fewshot"]
             for n in ("arc_challenge", "hellaswag", "mmlu_anatomy", "truthfulqa_mc2")}
    assert shots == {"arc_challenge": 25, "hellaswag": 10, "mmlu_anatomy": 5, "truthfulqa_mc2": 0}
    store2 = write_store(tmp_path / "s2", n=2, mmlu=False)
    (store2 / "mmlu").mkdir()
    write_jsonl(store2 / "mmlu" / "test.jsonl", [{"question": "q", "subject": "anatomy", "choices": ["a"] * 4,
                                                  "answer": 0}])
    write_jsonl(store2 / "mmlu" / "dev.jsonl", [{"question": "q", "subject": "anatomy", "choices": ["a"] * 4,
                                                 "answer": 0}])
    with pytest.raises(WinnowError, match="no rows for MMLU subject"):
        prepare(cfg(benchmarks=["mmlu"], data_dir=store2))
    # through the CLI: one line, exit 2, nothing recorded
    ws = tmp_path / "ws"
    rc = main(["eval", "run", "--model", str(empty), "--benchmarks", "arc_easy", "--data-dir", str(tiny_store),
               "--out", str(tmp_path / "x"), "--workspace", str(ws)])
    assert rc == 2 and "neither config.json" in capsys.readouterr().err
    with RunRegistry(ws) as reg:
        assert reg.list() == []
