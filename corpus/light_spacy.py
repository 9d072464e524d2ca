"""spaCy without torch and without its command line: ``import_spacy_lightly``, called before spaCy is first
imported by the tokenizers (``analysis.text``) and by the redactor's named-entity pipelines
(``corpus.redaction``), so that a command that only tokenises or redacts (``lnob search``, ``lnob import``)
never pays for torch.
"""

from __future__ import annotations

import sys
import types


def import_spacy_lightly() -> None:
    """Import spaCy without torch and without its command line, unless spaCy or torch is loaded already.

    spaCy's machine-learning library, thinc, imports torch whenever it is
    installed, only to offer PyTorch layers and GPU memory sharing. Nothing
    here uses them: blank pipelines and lookup tables, and the CNN pipelines
    that find names (``corpus.redaction``), run on numpy. Hidden, torch costs
    a process that tokenises or redacts (``lnob search``, ``lnob import``)
    nothing; imported, it cost 2 s and 190 MB. Torch itself stays importable (sentence-transformers models
    load it as usual); thinc only keeps believing it absent.

    spaCy's ``__init__`` also imports its whole command line (``spacy
    download``, ``spacy train``...) for one function, ``spacy.info``: 0.15 to
    0.3 s of every command's start. A stand-in for ``spacy.cli.info`` is put
    in place while spaCy imports; its ``info`` imports the real one when
    called, and ``spacy.cli`` itself imports as usual afterwards.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    command_line, info_module = types.ModuleType("spacy.cli"), types.ModuleType("spacy.cli.info")

    def info(*args, **kwargs):
        """``spacy.info``: spaCy's own, imported on first call."""
        from spacy.cli.info import info as spacy_info

        return spacy_info(*args, **kwargs)

    info_module.info = info  # type: ignore[attr-defined]
    command_line.info = info_module  # type: ignore[attr-defined]
    stand_ins = {"torch": None, "spacy.cli": command_line, "spacy.cli.info": info_module}
    sys.modules.update(stand_ins)  # type: ignore[arg-type]  # `import torch` raises ImportError while None
    try:
        import spacy  # noqa: F401
    finally:
        for name, module in stand_ins.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]
