"""Page types: the schema's vocabulary, declared types, URL heuristics."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.page_types import PAGE_TYPES, page_type_for
from pipeline.serde import Codec


def test_vocabulary_is_the_one_documented_in_the_click_event_schema() -> None:
    schema = Codec.default().registry.current("ClickEvent").schema
    page = next(f for f in schema["fields"] if f["name"] == "page")["type"]
    doc = next(f for f in page["fields"] if f["name"] == "page_type")["doc"]
    assert tuple(re.findall(r"[a-z_]+", doc)) == PAGE_TYPES


@pytest.mark.parametrize("url, expected", [
    ("https://shop.example/", "home"),
    ("https://shop.example/shipping", "shipping_returns"),
    ("https://shop.example/help/shipping-and-returns", "shipping_returns"),
    ("https://shop.example/shop/shipping.html", "shipping_returns"),
    ("https://shop.example/product/nc700", "product"),
    ("https://shop.example/p/nc700", "product"),
    ("https://shop.example/shop/p/nc700.html", "product"),
    ("https://shop.example/products/nc700/shipping", "shipping_returns"),
    ("https://shop.example/products", "listing"),
    ("https://shop.example/collections/audio", "listing"),
    ("https://shop.example/search?q=headphones", "search"),
    ("https://shop.example/?q=headphones", "search"),
    ("https://shop.example/checkout/step-2", "checkout"),
    ("https://app.example/pricing", "pricing"),
    ("https://app.example/features/sso", "feature"),
    ("https://bank.example/mortgage/calculator", "calculator"),
    ("https://bank.example/mortgage/eligibility", "eligibility"),
    ("https://app.example/signup", "signup"),
    ("https://blog.example/2024/a-post", "other"),
    ("about:blank", "other"),
])
def test_url_heuristics(url: str, expected: str) -> None:
    assert page_type_for(url) == expected


@pytest.mark.parametrize("declared, expected", [
    ("product", "product"), ("Shipping Returns", "shipping_returns"), ("PDP", "product"),
    ("cart", "checkout"), ("made-up", "other"),
])
def test_declared_types_win_when_known(declared: str, expected: str) -> None:
    assert page_type_for("https://shop.example/blog/x", declared) == expected


@given(st.text(max_size=200), st.none() | st.text(max_size=30))
def test_any_input_gives_a_known_page_type(url: str, declared: str | None) -> None:
    assert page_type_for(url, declared) in PAGE_TYPES
