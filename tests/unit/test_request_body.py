"""gateway.request_body.parse_body: JSON, JSON labelled as form, Rails-style forms."""

from __future__ import annotations

import json

import pytest

from chartsnap import errors
from gateway.request_body import MAX_DEPTH, MAX_FORM_FIELDS, UnsupportedMediaType, parse_body

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# The seed's create example, verbatim: one closing brace is missing.
SEED_UNBALANCED = b"""{
  "subject": {
  "chart": {
    "id": 1,
    "type": "stacked"
  }
}
"""


def _invalid(content_type, raw) -> str:
    with pytest.raises(errors.InvalidRequest) as info:
        parse_body(content_type, raw)
    return info.value.message


# -- JSON ---------------------------------------------------------------------

def test_json_object_is_returned_as_is():
    body = {"subject": {"chart": {"id": 1, "type": "stacked"}}, "duration": 600}
    assert parse_body(JSON, json.dumps(body).encode()) == body


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-8", "Application/JSON", "text/json", " application/json ",
])
def test_json_media_type_variants_are_accepted(content_type):
    assert parse_body(content_type, b'{"a": 1}') == {"a": 1}


def test_json_labelled_as_form_is_parsed_as_json():
    # What `curl -d '{...}'` sends.
    raw = b'{"subject": {"chart": {"id": 7, "type": "line"}}}'
    assert parse_body(FORM, raw) == {"subject": {"chart": {"id": 7, "type": "line"}}}


def test_json_without_content_type_is_parsed_as_json():
    assert parse_body(None, b'  {"a": [1, 2]}') == {"a": [1, 2]}


@pytest.mark.parametrize("content_type", [JSON, FORM, None])
def test_seed_example_with_unbalanced_brace_is_malformed_json(content_type):
    assert _invalid(content_type, SEED_UNBALANCED) == "Malformed JSON body"


def test_balanced_seed_example_parses():
    assert parse_body(JSON, SEED_UNBALANCED + b"}") == {"subject": {"chart": {"id": 1, "type": "stacked"}}}


def test_form_data_labelled_as_json_is_malformed_json():
    assert _invalid(JSON, b"a=1&b=2") == "Malformed JSON body"


@pytest.mark.parametrize("raw", [b"[1, 2]", b"[]", b'"text"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_refused(raw):
    assert _invalid(JSON, raw) == "JSON body must be an object"


def test_json_array_labelled_as_form_is_refused_not_read_as_form():
    assert _invalid(FORM, b'[{"a": 1}]') == "JSON body must be an object"


def test_absurdly_deep_json_is_malformed_not_a_crash():
    assert _invalid(JSON, b"[" * 200_000) == "Malformed JSON body"


def test_non_utf8_body_is_refused():
    assert _invalid(JSON, b'{"a": "\xff\xfe"}') == "Request body is not UTF-8"


# -- empty bodies and media types ----------------------------------------------

@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\t"])
@pytest.mark.parametrize("content_type", [JSON, FORM, None, ""])
def test_empty_body_is_empty_dict(content_type, raw):
    assert parse_body(content_type, raw) == {}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                                          "application/octet-stream"])
def test_unsupported_content_type_raises_415_error(content_type):
    # The contract: a body that parses as a JSON object is accepted whatever its label.
    assert parse_body(content_type, b'{"a": 1}') == {"a": 1}
    with pytest.raises(UnsupportedMediaType) as info:
        parse_body(content_type, b'a=1&b=2')
    assert "Unsupported content type" in info.value.message
    # It is a domain error but not a 400 one: the gateway answers 415 for it.
    assert isinstance(info.value, errors.ChartsnapError)
    assert not isinstance(info.value, (errors.InvalidRequest, errors.InvalidParams))


# -- Rails-style forms -------------------------------------------------------------

def test_flat_form():
    assert parse_body(FORM, b"name=My+space&duration=600") == {"name": "My space", "duration": "600"}


def test_form_values_are_percent_decoded_and_blank_values_kept():
    assert parse_body(FORM, b"message=a%26b%3Dc&label=") == {"message": "a&b=c", "label": ""}


def test_nested_form_subject_chart():
    raw = b"subject[chart][id]=1&subject[chart][type]=stacked"
    assert parse_body(FORM, raw) == {"subject": {"chart": {"id": "1", "type": "stacked"}}}


def test_percent_encoded_brackets_are_nesting_too():
    raw = b"subject%5Bchart%5D%5Bid%5D=1&subject%5Bchart%5D%5Btype%5D=line"
    assert parse_body(FORM, raw) == {"subject": {"chart": {"id": "1", "type": "line"}}}


def test_indexed_form_arrays_become_lists_in_index_order():
    raw = b"streams[1][metric]=mem&streams[0][metric]=cpu&streams[10][metric]=disk&streams[2][metric]=net"
    assert parse_body(FORM, raw) == {
        "streams": [{"metric": "cpu"}, {"metric": "mem"}, {"metric": "net"}, {"metric": "disk"}]
    }


def test_indexed_form_array_two_streams():
    raw = b"streams[0][metric]=cpu&streams[1][metric]=mem"
    assert parse_body(FORM, raw) == {"streams": [{"metric": "cpu"}, {"metric": "mem"}]}


def test_appending_brackets_build_a_list():
    assert parse_body(FORM, b"services[]=3&services[]=4") == {"services": ["3", "4"]}


def test_deeply_nested_stream_tags():
    raw = (b"streams[0][metric]=cpu&streams[0][tags][0][name]=env"
           b"&streams[0][tags][0][values][]=prod*&streams[0][tags][0][values][]=staging")
    assert parse_body(FORM, raw) == {
        "streams": [{"metric": "cpu", "tags": [{"name": "env", "values": ["prod*", "staging"]}]}]
    }


def test_mixed_digit_and_name_keys_stay_a_dict():
    assert parse_body(FORM, b"x[0]=a&x[b]=c") == {"x": {"0": "a", "b": "c"}}


def test_repeated_scalar_key_last_wins():
    assert parse_body(FORM, b"a=1&a=2") == {"a": "2"}


@pytest.mark.parametrize("raw", [
    b"a=1&a[b]=2",       # scalar, then a nested key under it
    b"a=1&a[]=2",        # scalar, then appends to it
    b"a[]=1&a[b]=2",     # list, then a nested key
    b"a[b]=1&a[]=2",     # dict, then appends
    b"a[0]=x&a[]=y",     # indexed, then appends
])
def test_conflicting_form_keys_are_refused(raw):
    assert "conflicts with another" in _invalid(FORM, raw)


@pytest.mark.parametrize("raw", [b"a[b]=1&a=2", b"a[]=1&a=2", b"streams[0][metric]=cpu&streams[0]=x"])
def test_conflicting_form_keys_are_refused_in_either_order(raw):
    assert "conflicts with another" in _invalid(FORM, raw)


def test_nesting_at_the_limit_is_accepted():
    key = "a" + "".join(f"[k{i}]" for i in range(MAX_DEPTH - 1))
    result = parse_body(FORM, f"{key}=v".encode())
    node = result["a"]
    for i in range(MAX_DEPTH - 2):
        node = node[f"k{i}"]
    assert node == {f"k{MAX_DEPTH - 2}": "v"}


def test_too_deep_nesting_is_refused():
    key = "a" + "[k]" * MAX_DEPTH
    assert "nested too deeply" in _invalid(FORM, f"{key}=v".encode())


@pytest.mark.parametrize("raw", [b"a[b=1", b"a]b[=1", b"x[a]]=1", b"=1", b"a[b]c=1"])
def test_malformed_field_names_are_refused(raw):
    assert "Malformed form field name" in _invalid(FORM, raw)


def test_empty_brackets_in_the_middle_are_refused():
    assert "Unsupported form field" in _invalid(FORM, b"a[][b]=1")


def test_empty_nested_key_is_refused():
    assert "Malformed form field name" in _invalid(FORM, b"a[b][]x=1")


def test_too_many_form_fields_are_refused():
    raw = "&".join(f"f{i}=1" for i in range(MAX_FORM_FIELDS + 1)).encode()
    assert "more than" in _invalid(FORM, raw)


def test_form_at_the_field_limit_is_accepted():
    raw = "&".join(f"f{i}=1" for i in range(MAX_FORM_FIELDS)).encode()
    assert len(parse_body(FORM, raw)) == MAX_FORM_FIELDS


@pytest.mark.parametrize("raw", [b'{"name": "\\ud800"}', b'{"\\udfff": 1}', b'{"a": ["ok", "\\ud83d"]}'])
def test_lone_surrogates_are_a_bad_request(raw):
    with pytest.raises(errors.InvalidRequest):
        parse_body("application/json", raw)


def test_huge_integers_and_odd_indexes_are_not_500s():
    with pytest.raises(errors.InvalidRequest):
        parse_body("application/json", b'{"n": ' + b"1" * 5000 + b"}")
    assert parse_body(FORM, b"a[" + b"1" * 50 + b"]=1") == {"a": {"1" * 50: "1"}}
    assert parse_body(FORM, "a[²]=1".encode()) == {"a": {"²": "1"}}
