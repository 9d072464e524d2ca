"""Every corpus store on one database engine, made once and shared.

The shortest working example::

    from corpus.settings import Settings
    from corpus.stores import CorpusStores

    stores = CorpusStores(Settings())
    stores.corpus.records()          # contributions (``CorpusStore``)
    stores.themes.last_run()         # themes as stored (``ThemeStore``)
    stores.curation.hidden()         # staff curation (``CurationStore``)
    stores.staff                     # staff, invites, audit (``StaffStore``)
    stores.chat_states               # the bot's conversation state (``ChatStateStore``)
    stores.exports                   # files made from the corpus (``ExportRegistry``)
    stores.lexicon                   # each testimony's saved search tokens (``Lexicon``)
    stores.catalogue                 # the columns search filters on, read in one query (``CatalogueQueries``)

Code outside ``corpus/`` reaches a store through this object (``EvidenceBase.stores``)
rather than building one on the spot from an engine.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.engine import Engine

from corpus.catalogue import CatalogueQueries
from corpus.chatstate import ChatStateStore
from corpus.curation import CurationStore
from corpus.db import make_engine
from corpus.exports import ExportRegistry
from corpus.lexicon import Lexicon
from corpus.settings import Settings
from corpus.staff import StaffStore
from corpus.store import CorpusStore
from corpus.themes import ThemeStore


class CorpusStores:
    """The corpus's stores on one engine; each is made on first use and kept."""

    def __init__(self, settings: Settings, *, corpus: CorpusStore | None = None, engine: Engine | None = None) -> None:
        self.settings = settings
        self.corpus = corpus or CorpusStore(settings, engine or make_engine(settings.resolved_database_url))
        self.engine: Engine = self.corpus.engine

    @cached_property
    def themes(self) -> ThemeStore:
        """Theme runs, themes and each contribution's assignment."""
        return ThemeStore(self.engine)

    @cached_property
    def curation(self) -> CurationStore:
        """Staff curation: pins, hides, renames, merges and splits."""
        return CurationStore(self.engine)

    @cached_property
    def staff(self) -> StaffStore:
        """Staff accounts, invites and the audit trail (ids keyed with the deployment's pseudonym key)."""
        return StaffStore(self.engine, self.settings.resolved_pseudonym_key)

    @cached_property
    def chat_states(self) -> ChatStateStore:
        """The bot's conversation state, sealed with the deployment's pseudonym key."""
        return ChatStateStore(self.engine, self.settings.resolved_pseudonym_key)

    @cached_property
    def exports(self) -> ExportRegistry:
        """The registry of files made from the corpus (reports, quote files, explorers)."""
        return ExportRegistry(self.engine, self.settings.exports_dir, self.settings.resolved_data_dir)

    @cached_property
    def lexicon(self) -> Lexicon:
        """Each testimony's search tokens, saved so that a search does not tokenise the corpus again."""
        return Lexicon(self.engine)

    @cached_property
    def catalogue(self) -> CatalogueQueries:
        """The columns search filters on, for every testimony, without building records (one-shot search)."""
        return CatalogueQueries(self.engine)
