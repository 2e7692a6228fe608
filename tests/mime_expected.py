#!/usr/bin/env python3
"""Prints, as one JSON object keyed by path, what Python's email package reports for each message file given on
the command line (or for every file under a directory): subject, from/to/cc addresses, and the attachments.

The attachment rules mirror src/mime/parse.cpp: walk the MIME tree in order; a leaf text/plain or text/html part
without a filename and not marked "attachment" is body text; every other leaf is an attachment; message/* parts
are single attachments (not descended into). The corpus test in tests/unit/mime_test.cpp compares against this.
"""
import email
import email.policy
import json
import os
import sys


def addresses(msg, name):
    try:
        header = msg[name]
        if header is None:
            return []
        return [a.addr_spec for a in header.addresses]
    except Exception as error:  # a malformed header: report it, the test treats the file as malformed
        return {"error": str(error)}


def attachments(part, out, seen_body):
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.get_payload():
            attachments(child, out, seen_body)
        return
    ctype = part.get_content_type()
    filename = part.get_filename()
    disposition = part.get_content_disposition()
    if part.get_content_maintype() != "message" and filename is None and disposition != "attachment" and \
            ctype in ("text/plain", "text/html"):
        return  # body text
    size = None
    if part.get_content_maintype() != "message":
        payload = part.get_payload(decode=True)
        size = len(payload) if payload is not None else 0
    out.append({"filename": filename or "", "content_type": ctype, "size": size})


def summarize(path):
    with open(path, "rb") as handle:
        msg = email.message_from_bytes(handle.read(), policy=email.policy.default)
    subject = msg["subject"]
    found = []
    attachments(msg, found, set())
    return {
        "subject": str(subject).strip() if subject is not None else "",
        "from": addresses(msg, "from"),
        "to": addresses(msg, "to"),
        "cc": addresses(msg, "cc"),
        "attachments": found,
        "defects": len(msg.defects),
    }


def main(arguments):
    paths = []
    for argument in arguments:
        if os.path.isdir(argument):
            for root, _, files in os.walk(argument):
                paths.extend(os.path.join(root, name) for name in files)
        else:
            paths.append(argument)
    result = {}
    for path in sorted(paths):
        try:
            result[path] = summarize(path)
        except Exception as error:
            result[path] = {"error": repr(error)}
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
