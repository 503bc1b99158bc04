"""Commands that move events: ``demo``, ``generate``, ``run``, ``publish``."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import (
    LAYERS,
    Command,
    Subparsers,
    generator_args,
    session,
    spec,
)
from lakehouse.cli.run import cmd_run
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError
from lakehouse.publish import PUBLISH_TARGETS

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    demo = sub.add_parser(
        "demo", parents=[common], help="generate events, run every layer, print a summary"
    )
    generator_args(demo, default_count=10_000)

    gen = sub.add_parser(
        "generate", parents=[common], help="write generated events into the landing folder"
    )
    generator_args(gen, default_count=1_000)
    gen.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="only this dataset (repeat); default: every dataset of the configuration",
    )
    gen.add_argument(
        "--files-per-second",
        type=float,
        default=0.0,
        help="pace file writes (0 = as fast as possible)",
    )

    run = sub.add_parser("run", parents=[common], help="run streaming jobs")
    run.add_argument(
        "layers",
        nargs="*",
        choices=LAYERS,
        metavar="LAYER",
        help="one or more of: bronze, silver, gold",
    )
    run.add_argument(
        "--retry-bad-files",
        action="store_true",
        help="first read the landing files bronze skipped as unreadable (ops.bad_files) "
        "again and ingest those that read now, each once",
    )
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--available-now", action="store_true", help="process what is available, then stop"
    )
    mode.add_argument(
        "--trigger",
        metavar="INTERVAL",
        help="run continuously, one micro-batch every INTERVAL (e.g. '10 seconds')",
    )
    run.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="only this dataset (repeat); default: every dataset of the configuration",
    )
    run.add_argument(
        "--timeout",
        metavar="DURATION",
        help="stop continuous streams after DURATION (default: run until Ctrl-C)",
    )

    pub = sub.add_parser(
        "publish",
        parents=[common],
        help="send generated events to Kafka, Pub/Sub Lite or Pub/Sub (load tests, demos, "
        "cutovers)",
    )
    pub.add_argument(
        "--to", required=True, choices=PUBLISH_TARGETS, help="kafka, pubsublite or pubsub"
    )
    pub.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="only this dataset (repeat); default: every dataset of the configuration, each "
        "to its own topic",
    )
    pub.add_argument(
        "--topic",
        help="one dataset only. Kafka: topic (default: the first Kafka topic of the dataset's "
        "contract, else of source.kafka_topics); Pub/Sub Lite: projects/P/locations/L/topics/T "
        "(default: the topic of the dataset's subscription); Pub/Sub: projects/P/topics/T "
        "(default: the topic of the dataset's subscription)",
    )
    generator_args(pub, default_count=1_000, files=False)
    return {"demo": cmd_demo, "generate": cmd_generate, "run": cmd_run, "publish": cmd_publish}


def cmd_demo(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.demo import render_summary, run_demo
    from lakehouse.privacy.keys import ensure_demo_key, load_key

    generator = spec(args)
    notice = ensure_demo_key(config.privacy)
    if notice:
        print(notice, flush=True)
    load_key(config.privacy)  # a missing key fails here, before Spark starts
    print(f"starting Spark (lake: {config.lake.root}) ...", flush=True)
    spark = session(config, "lakehouse-demo")
    result = run_demo(
        spark, config, generator, args.events_per_file, say=lambda m: print(m, flush=True)
    )
    print()
    print(render_summary(result))
    gold = next((t for t in result.after if t.startswith("gold.")), None)
    if gold is not None:
        print(f'\nQuery the tables, e.g.: lakehouse sql "SELECT * FROM {gold} LIMIT 20"')
    return 0 if result.accounted else 1


def cmd_generate(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from pathlib import Path

    from lakehouse.generate import generate_dataset_events, write_dataset_events
    from lakehouse.platform import load_platform, source_config

    generator = spec(args)
    for tables in load_platform(config).only(args.dataset):
        dataset = tables.dataset
        events = generate_dataset_events(
            dataset, generator, Path(config.quality.suite_dir), defaults=config.silver
        )
        folder = source_config(config, dataset).landing_path
        files = write_dataset_events(
            events, folder, dataset.name, args.events_per_file, args.files_per_second
        )
        bad = sum(1 for e in events if e.kind != "good")
        print(
            f"{dataset.name}: wrote {len(events)} events ({bad} bad) in {len(files)} files "
            f"to {folder}"
        )
    return 0


def cmd_publish(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from pathlib import Path

    from lakehouse.generate import generate_dataset_events
    from lakehouse.platform import load_platform, source_config
    from lakehouse.publish import publish_kafka, publish_pubsub, publish_pubsublite

    chosen = load_platform(config).only(args.dataset)
    if args.topic and len(chosen) > 1:
        raise ConfigError(
            f"publish --topic {args.topic}: names one topic for {len(chosen)} datasets "
            f"({', '.join(t.dataset.name for t in chosen)}); add --dataset NAME"
        )
    generator = spec(args)
    spark = None
    for tables in chosen:
        dataset = tables.dataset
        source = source_config(config, dataset)
        events = generate_dataset_events(
            dataset, generator, Path(config.quality.suite_dir), defaults=config.silver
        )
        name = dataset.name
        if args.to == "kafka":
            from lakehouse.sources.kafka import KafkaSource

            topic = args.topic or (source.topics[0] if source.topics else "")
            if not topic:
                raise ConfigError(
                    f"publish --to kafka: dataset {name} names no Kafka topic; give --topic, "
                    "or Kafka topics in its contract or in source.kafka_topics"
                )
            if spark is None:
                spark = session(config, "lakehouse-publish", KafkaSource(source))
            sent = publish_kafka(spark, source, events, topic)
            print(f"{name}: published {sent} events to Kafka topic {topic}, key = subject")
        elif args.to == "pubsub":
            ids = publish_pubsub(source, events, args.topic)
            where = args.topic or f"the topic of {source.pubsub_subscription}"
            print(
                f"{name}: published {len(ids)} events to Pub/Sub ({where}), ordering key = subject"
            )
        else:
            offsets = publish_pubsublite(source, events, args.topic)
            sent = sum(len(o) for o in offsets.values())
            ranges = ", ".join(f"{p}: {o[0]}..{o[-1]}" for p, o in offsets.items())
            print(
                f"{name}: published {sent} events to Pub/Sub Lite "
                f"(partition: offsets {ranges}), key = subject"
            )
    return 0
