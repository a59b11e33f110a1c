"""How many tasks a curate makes of its inputs when --tasks is not given."""

from __future__ import annotations

from curation.executors import default_tasks

MB = 1 << 20


def test_a_small_input_is_one_task_whatever_the_workers() -> None:
    # ten short documents: a second process would cost more start-up than the work it takes over
    assert default_tasks([30_000], workers=2) == 1
    assert default_tasks([3 * MB], workers=8) == 1


def test_each_worker_gets_a_task_once_the_input_is_worth_splitting() -> None:
    assert default_tasks([9 * MB], workers=2) == 2
    assert default_tasks([9 * MB], workers=8) == 3  # 4 MiB or more a task
    assert default_tasks([100 * MB], workers=8) == 8


def test_a_large_input_is_cut_in_128_mib_tasks_beyond_the_workers() -> None:
    assert default_tasks([1000 * MB, 1000 * MB], workers=2) == 16  # 2000 MiB / 128 MiB, rounded up
    assert default_tasks([10**15], workers=2) == 10_000
