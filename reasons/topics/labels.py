"""Topic labels, unique within a model: short phrases of the topic's messages (``card payment
declined``), else keywords (``card declined payment``). Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|s)$", "", word)


def keyword_label(keywords: Sequence[str], n_words: int, used: set[str], topic_id: int) -> str:
    """The first ``n_words`` distinct keywords (``card declined payment``), unique within the model."""
    words: list[str] = []
    for w in keywords:  # skip inflections of a word already in: "fee fees charged" -> "fee charged"
        if _stem(w) not in {_stem(x) for x in words}:
            words.append(w)
    for k in range(n_words, len(words) + 1):
        label = " ".join(words[:k])
        if label and label not in used:
            used.add(label)
            return label
    label = (" ".join(words[:n_words]) + f" #{topic_id}").strip()
    used.add(label)
    return label


# ---- phrase labels -----------------------------------------------------------------------------
# A label a person would write ("card payment declined", "on hold for hours") rather than a bag of
# keywords: candidate n-grams of the topic's own messages, scored like c-TF-IDF (frequent in the topic,
# rare elsewhere), optionally re-ranked by closeness to the topic's centroid (BERTopic's KeyBERTInspired
# idea, run on our own embedder so it stays offline).

TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z']+\b"
# a phrase never spans a sentence break: "arrived late. The courier…" gives no 'late the courier', "One
# star: card payment…" no 'star card payment'
_SENTENCE_BREAK = re.compile(r"[.!?;:\n]+")
PHRASE_CHARS = 400  # phrases come from the start of each message (long narratives: the first sentences)
# scikit-learn's stop words that name things ("top up", "bill", "interest") may open or close a phrase;
# particles may close one ("locked out", "money back")
_CONTENT = {"amount", "bill", "call", "detail", "fire", "found", "interest", "name", "system", "top", "full", "empty"}
# negations open what went wrong ("not working", "no refund", "never arrived", "too small"): without them a
# complaint about quality reads "good quality" (docs/history/results-journal.md, section "Held out")
_NEGATIONS = {"not", "no", "never", "nothing", "cannot", "without", "too"}
_PARTICLES = {"up", "out", "off", "down", "back", "over", "through"}
# words that open or close what people say, not what a problem is
_FILLER = {
    "like", "does", "did", "need", "needs", "want", "wanted", "just", "really", "got", "tried", "trying",
    "able", "let", "know", "tell", "help", "make", "way", "today", "yesterday", "ago", "thank", "thanks",
    "hi", "hello", "dear", "said", "says", "told", "asked", "ask", "use", "using", "going", "went",
    "possible", "happened", "happen", "think", "sure", "xx", "xxxx", "xxxxxxxx", "keep", "keeps", "kept",
    "get", "gets", "getting", "following", "showing", "regarding", "stating", "saying",
}  # fmt: skip


@dataclass(frozen=True)
class PhraseParams:
    min_words: int = 2
    max_words: int = 3
    min_share: float = 0.03  # of the topic's messages a phrase must occur in
    min_count: int = 3
    candidates: int = 8  # the best-scored phrases the embedding re-ranks


def phrase_candidates(
    texts: Sequence[str],
    doc_topics: Sequence[int] | np.ndarray,
    topic_ids: Sequence[int],
    stop_words: Iterable[str] = (),
    params: PhraseParams = PhraseParams(),
) -> dict[int, list[tuple[str, float]]]:
    """Per topic, its best phrases ``(phrase, score)``, best first.

    A phrase is ``min_words``..``max_words`` words that neither start nor end with an English stop
    word and hold none of ``stop_words`` (brand names); it must occur in ``min_share`` of the topic's
    messages (and ``min_count``). Score: its share of the topic's messages × log of how much more often
    it occurs there than in the other messages (a lift), so a phrase every topic uses scores low."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    banned = {w.lower() for w in stop_words}
    stop = set(ENGLISH_STOP_WORDS) - _CONTENT
    opening = (stop - _NEGATIONS) | _FILLER | banned
    closing = (stop - _PARTICLES) | _FILLER | banned | {"top"}  # "top up", never "pay to top"
    topics = np.asarray(doc_topics, dtype=int)
    docs = [str(t)[:PHRASE_CHARS].lower().replace("’", "'") for t in texts]
    vectorizer = CountVectorizer(
        analyzer=lambda doc: _ngrams(doc, params.min_words, params.max_words), binary=True, min_df=params.min_count
    )
    try:
        counts = vectorizer.fit_transform(docs).tocsc()
    except ValueError:  # no phrase occurs twice
        return {t: [] for t in topic_ids}
    vocab = vectorizer.get_feature_names_out()
    usable = np.array([_usable(p, opening, closing, banned) for p in vocab], dtype=bool)
    total = np.asarray(counts.sum(axis=0)).ravel()
    n = len(docs)
    out: dict[int, list[tuple[str, float]]] = {}
    for t in topic_ids:
        rows = topics == t
        size = int(rows.sum())
        if not size:
            out[t] = []
            continue
        inside = np.asarray(counts[rows].sum(axis=0)).ravel()
        share = inside / size
        rest = (total - inside) / max(n - size, 1)
        lift = np.log((share + 1e-3) / (rest + 1e-3))
        score = share * lift
        ok = usable & (inside >= max(params.min_count, params.min_share * size)) & (lift > 0)
        best = np.flatnonzero(ok)[np.argsort(-score[ok], kind="stable")][: params.candidates * 3]
        out[t] = _drop_contained([(str(vocab[i]), float(score[i])) for i in best])[: params.candidates]
    return out


def problem_phrase_candidates(
    texts: Sequence[str],
    doc_topics: Sequence[int] | np.ndarray,
    topic_ids: Sequence[int],
    stop_words: Iterable[str] = (),
    label_rows: Sequence[bool] | np.ndarray | None = None,
) -> dict[int, list[tuple[str, float]]]:
    """:func:`phrase_candidates` from the ``label_rows`` of each topic (its dissatisfied messages: a topic of
    complaints mixed with praise is labelled by what went wrong, 'not good cloth', not by what the praise
    says, 'comfortable to wear'), a phrase recurring in two of them enough; a topic with no such phrase, or
    ``label_rows`` None or all true, from all its messages."""
    everything = phrase_candidates(texts, doc_topics, topic_ids, stop_words)
    rows = None if label_rows is None else np.asarray(label_rows, dtype=bool)
    if rows is None or rows.all():
        return everything
    only = np.where(rows, np.asarray(doc_topics, dtype=int), _NO_TOPIC)
    problems = phrase_candidates(texts, only, topic_ids, stop_words, PhraseParams(min_count=2))
    return {t: problems[t] or everything[t] for t in topic_ids}


_NO_TOPIC = -(2**31)  # a row no topic's phrases come from (still counted among the other topics' messages)


def _ngrams(doc: str, min_words: int, max_words: int) -> list[str]:
    """The ``min_words``..``max_words``-word n-grams of ``doc``, each within one sentence."""
    grams: list[str] = []
    for sentence in _SENTENCE_BREAK.split(doc):
        words = re.findall(TOKEN, sentence)
        for n in range(min_words, max_words + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def _usable(phrase: str, opening: set[str], closing: set[str], banned: set[str]) -> bool:
    words = phrase.split()
    first, last = words[0], words[-1]
    return (
        first not in opening
        and last not in closing
        and "'" not in first + last  # "isn't working" / "card isn't": a contraction opens or closes nothing
        and not (banned & set(words))
        and len(set(words)) > 1
    )


def _drop_contained(scored: list[tuple[str, float]], longer_ratio: float = 0.5) -> list[tuple[str, float]]:
    """Phrases best first without repeats: a phrase inside a better one is dropped, and a longer phrase
    scoring at least ``longer_ratio`` of a kept phrase it contains takes that one's place ("card payment
    declined" over "card payment"); the same words in another order are dropped."""
    kept: list[tuple[str, float]] = []
    for phrase, score in scored:
        words = frozenset(phrase.split())
        if any(f" {phrase} " in f" {k} " or frozenset(k.split()) == words for k, _ in kept):
            continue
        inside = [i for i, (k, ks) in enumerate(kept) if f" {k} " in f" {phrase} " and score >= longer_ratio * ks]
        if inside:
            kept[inside[0]] = (phrase, kept[inside[0]][1])
            kept = [item for i, item in enumerate(kept) if i not in inside[1:]]
        else:
            kept.append((phrase, score))
    return kept


def rerank_by_embedding(
    candidates: Sequence[str], centroid: np.ndarray, embed: Callable[[list[str]], np.ndarray], center=None
) -> list[str]:
    """``candidates`` ordered by cosine to the topic's ``centroid`` (in the fit's space: with ``center``,
    the phrases' embeddings are centred the same way)."""
    if not candidates:
        return []
    vectors = np.asarray(embed(list(candidates)), dtype=np.float32)
    if center is not None:
        vectors = vectors - center
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = vectors @ np.asarray(centroid, dtype=np.float32)
    return [candidates[i] for i in np.argsort(-sims, kind="stable")]


def phrase_label(phrases: Sequence[str], keywords: Sequence[str], n_words: int, used: set[str], topic_id: int) -> str:
    """The first of ``phrases`` not used yet in the model; the keyword label when none is left."""
    for phrase in phrases:
        if phrase not in used:
            used.add(phrase)
            return phrase
    return keyword_label(keywords, n_words, used, topic_id)
