"""Protocols: how a run trains. Dense protocols (``frozen``, ``finetune``, ``scratch``) in
:mod:`planetbench.protocols.dense`; linear probes on embeddings in
:mod:`planetbench.protocols.probes`."""
