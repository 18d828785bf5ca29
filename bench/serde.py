"""µs per encode/decode of a ClickEvent: the `avro` package vs `fastavro`, and our codec.

The headline is the ratio avro/fastavro measured in the same run: absolute
numbers on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import io
import json

import avro.io
import avro.schema
from fastavro import schemaless_reader, schemaless_writer

from bench.common import per_call_us
from bench.record import write
from pipeline.client.samples import sample_events
from pipeline.serde import Codec


def run() -> list[dict[str, object]]:
    """Measure and record; returns the rows."""
    codec = Codec.default()
    reg = codec.registry.current("ClickEvent")
    event = sample_events("bench-visitor", 1_800_000_000_000)[1]  # a click
    avro_schema = avro.schema.parse(json.dumps(reg.schema))
    writer = avro.io.DatumWriter(avro_schema)
    reader = avro.io.DatumReader(avro_schema)

    def avro_encode() -> bytes:
        buf = io.BytesIO()
        writer.write(event, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    body = avro_encode()

    def avro_decode() -> object:
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(body)))

    def fast_encode() -> bytes:
        buf = io.BytesIO()
        schemaless_writer(buf, reg.parsed, event)
        return buf.getvalue()

    def fast_decode() -> object:
        return schemaless_reader(io.BytesIO(body), reg.parsed, None)

    message = codec.encode("ClickEvent", event)
    results = {
        "avro encode": per_call_us(avro_encode),
        "avro decode": per_call_us(avro_decode),
        "fastavro encode": per_call_us(fast_encode),
        "fastavro decode": per_call_us(fast_decode),
        "rtp codec encode (single-object)": per_call_us(lambda: codec.encode("ClickEvent",
                                                                              event)),
        "rtp codec decode (single-object)": per_call_us(lambda: codec.decode(message)),
        "rtp codec encode + validate": per_call_us(lambda: codec.encode("ClickEvent", event,
                                                                         check=True)),
    }
    rows: list[dict[str, object]] = [
        {"operation": k, "us_per_record": v, "records_per_s": 1e6 / v} for k, v in results.items()
    ]
    rows.append({"operation": "ratio avro/fastavro encode",
                 "us_per_record": results["avro encode"] / results["fastavro encode"],
                 "records_per_s": ""})
    rows.append({"operation": "ratio avro/fastavro decode",
                 "us_per_record": results["avro decode"] / results["fastavro decode"],
                 "records_per_s": ""})
    write("serde", rows, notes=f"ClickEvent (click), {len(message)} bytes single-object encoded. "
          "Ratios are the headline; absolute µs vary with machine load.")
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
