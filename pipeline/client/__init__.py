"""The SDK: a validating producer for the web tier and a DLQ-routing consumer helper."""

from pipeline.client.consumer import ConsumedRecord, RecordConsumer, action_consumer
from pipeline.client.producer import DeliveryStats, EventProducer, ProducerOptions
from pipeline.client.samples import EVENT_TYPES, click_event, sample_events

__all__ = [
    "EVENT_TYPES",
    "ConsumedRecord",
    "DeliveryStats",
    "EventProducer",
    "ProducerOptions",
    "RecordConsumer",
    "action_consumer",
    "click_event",
    "sample_events",
]
