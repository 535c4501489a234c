"""Every local process a reasonlake home runs, and nothing else (import-linter keeps process management here):

* :mod:`services.broker`: the embedded Kafka-API broker (Tansu) and its retention; :mod:`services.intake`: the
  broker's intake, which merges the single events producers send into batches (:mod:`services.intake_merge`)
  and answers readers at a partition's end from the batches it stored last (:mod:`services.intake_tail`), with
  the wire codecs :mod:`services.kafka_wire` and :mod:`services.kafka_fetch`, and its Prometheus metrics
  (:mod:`services.intake_metrics`, served like the alert job's by :mod:`services.metrics_server`);
  :mod:`services.object_store`
  and :mod:`services.localbucket_server`: the home's local S3 server (the broker's storage, the S3 warehouse);
* :mod:`services.postgres`, :mod:`services.redis`, :mod:`services.flink_cluster`: the scale-out engines, all at
  once in :mod:`services.profile` (``reasonlake up --profile cluster``);
* :mod:`services.supervisor`: the supervisor of ``reasonlake run``'s long-running services;
* :mod:`services.process`: the one process helper they all use (start with a rotating log, wait listening,
  state files, stop a process group) and :mod:`services.logpipe`, the log writer that rotates without losing a
  line; :mod:`services.packages`: which OS packages an engine needs (checked, never installed here).
"""
