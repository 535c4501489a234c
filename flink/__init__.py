"""Streaming side: the message contract, Kafka helpers, the embedded broker and the PyFlink jobs.

Everything here imports without PyFlink except ``*_job.py`` and ``operators.py``.
"""
