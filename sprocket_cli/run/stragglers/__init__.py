"""Straggler mitigation (paper §3.6): extra copies of tasks, of which the first result wins.

Every copy writes its output exclusively under the same key, and a copy stops as soon as the
key exists, so duplicates never write a segment twice and cost little once they lose. Each
strategy is a plug-in (entry point group ``sprocket.stragglers``) behind
:class:`~sprocket_cli.run.stragglers.base.Strategy`: ``none``, ``clone``, ``speculative``,
``gop-pair``.
"""
