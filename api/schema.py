"""The schema says how errors look: RFC 9457 problem details on every operation."""

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": True,
            "description": "Fält och deras fel / Fields and their errors",
        },
    },
    "required": ["type", "title", "status"],
}

_ERRORS = {
    "400": "Felaktig begäran / Bad request",
    "401": "Nyckel saknas eller är ogiltig / Missing or invalid token",
    "403": "Klienten saknar behörighet / The client lacks the permission",
    "404": "Finns inte, eller klienten ser det inte / Not found, or not visible to the client",
    "429": "För många anrop; se Retry-After / Too many requests; see Retry-After",
}


def document_problems(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in _ERRORS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
                if code == "429":
                    responses[code]["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Sekunder"}
                    }
    return result
