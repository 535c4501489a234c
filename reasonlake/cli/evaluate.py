"""`evaluate`: is it right on my data? A labelled sample of the team's own messages through the weekly steps
(``reasons/labelled.py`` reads it, ``reasons/evaluation_report.py`` measures and reports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reasonlake.cli.group import cli, settings_of, step

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from lake.settings import Settings
    from reasons.evaluation_report import SampleEvaluation
    from reasons.labelled import LabelledSample


def cleaned(frame: pd.DataFrame, log: Callable[[str], None] = lambda _: None) -> pd.DataFrame:
    """``frame`` with the columns the pipeline's staging model adds to each message: ``text_redacted`` (the text
    with personal data redacted, ``reasons.pii``, as the model does first, whitespace collapsed: what the
    pipeline embeds), and from it ``text_modelling`` (what keywords and labels read) and ``mentions``, by the
    model's own macros (``cleaned_texts``). ``text`` stays the text as read."""
    from dagster_project.cleaning.resources import cleaned_texts
    from reasons.pii import redact_all

    texts = frame["text"].astype(str).tolist()
    redacted = [str(t) for t in redact_all(texts)]
    clean = cleaned_texts(redacted)
    changed = sum(" ".join(a.split()) != b for a, b in zip(texts, clean["text_modelling"]))
    log(
        f"cleaning: {changed} of {len(texts)} modelling texts differ from the text as read "
        f"({sum(a != b for a, b in zip(texts, redacted))} with personal data redacted)"
    )
    return frame.assign(
        text_redacted=[" ".join(t.split()) for t in redacted],
        text_modelling=clean["text_modelling"].to_numpy(),
        mentions=clean["mentions"].to_numpy(),
    )


def evaluate_labelled(
    settings: Settings,
    sample: LabelledSample,
    embeddings: np.ndarray,
    out: Path,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[SampleEvaluation, Path, Path]:
    """``sample`` (cleaned: :func:`cleaned`) evaluated as the home's weekly graph and alert job would run it
    (the fit, registry and dissatisfaction defaults of the weekly run, the home's election policy), its
    per-week table printed and its report written under ``out``; the evaluation and the report's .md and .html."""
    from reasons.election.policy import load_policy
    from reasons.election.weekly_report import write_report
    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from reasons.evaluation_report import build_evaluation_report, charts, evaluate_sample, week_table
    from reasons.text import brand_terms
    from reasons.topics.params import TopicModelParams

    params = TopicModelParams()
    policy, _ = load_policy(settings.policy_file)
    model = load_embedder(settings.embedding_backend)
    mentions = sample.frame.get("mentions", ())
    evaluation = evaluate_sample(
        sample,
        embeddings,
        policy,
        params=params,
        stop_words=brand_terms(mentions),
        embed=(lambda texts: embed(model, texts, batch_size=params.embed_batch_size)) if params.phrase_labels else None,
        log=log,
    )
    click.echo(week_table(evaluation))
    name = Path(sample.source).stem
    report = build_evaluation_report(evaluation, charts(evaluation, out / "charts", name), name)
    md, page = write_report(report, out)
    return evaluation, md, page


@cli.command()
@click.option(
    "--labelled",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A labelled sample: .csv, or JSON lines (.jsonl, .ndjson, .json), one message a row.",
)
@click.option("--text-col", default="text", show_default=True, help="The message text.")
@click.option("--label-col", default="label", show_default=True, help="The issue a person gave the message.")
@click.option(
    "--time-col", default=None, help="When the message was sent (weeks come from it) [default: rows spread in order]."
)
@click.option(
    "--complaint-col",
    default=None,
    help="Whether the message complains (true/false, yes/no, 1/0) [default: every row is a complaint].",
)
@click.option(
    "--rows-per-week",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Without --time-col: about this many rows a week, in file order (at least 2 weeks).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the report goes [default: <home>/reports/evaluation].",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    path: Path,
    text_col: str,
    label_col: str,
    time_col: str | None,
    complaint_col: str | None,
    rows_per_week: int,
    out: Path | None,
) -> None:
    """Is it right on my data? Run the weekly steps on a labelled sample, week by week (fit, reasons,
    election, the next week streamed as the alert job would) and grade them against its labels: per week
    the true top-3 labels elected, alert precision and recall, alerts on messages that do not complain,
    dissatisfaction precision/recall (with --complaint-col), NMI/ARI of topics and reason purity. Prints
    the table; writes <out>/<file name>.md and .html (self-contained, charts embedded).

    Exit 5 (data) when the file is missing or unreadable, lacks a column, or has fewer than 2 weeks or a
    week under 30 rows; 3 when the home's policy file is invalid."""
    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from reasons.labelled import read_labelled
    from reasons.topics.params import TopicModelParams

    settings = settings_of(ctx)
    params = TopicModelParams()
    sample = read_labelled(
        path, text_col, label_col, time_col, complaint_col, rows_per_week=rows_per_week, min_rows=params.min_documents
    )
    for note in sample.notes:
        click.echo(f"note: {note}")
    say = lambda line: click.echo(f"  {line}", err=True)
    frame = cleaned(sample.frame, say)
    texts = frame["text_redacted"].tolist()
    step(f"embedding {len(texts)} messages ({settings.embedding_backend})")
    progress = lambda done, total: say(f"embedded {done}/{total}")
    embeddings = embed(load_embedder(settings.embedding_backend), texts, params.embed_batch_size, progress)
    step(f"{frame['week'].nunique()} weeks: each but the last fitted and elected, the next one streamed through it")
    sample = replace(sample, frame=frame)
    _, md, page = evaluate_labelled(settings, sample, embeddings, out or settings.reports_dir / "evaluation", say)
    click.echo(f"\nreport: {page} and {md}")
