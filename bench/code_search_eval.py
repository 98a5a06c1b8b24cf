#!/usr/bin/env python3
"""Code search on a codebase nobody here wrote: the Python standard library.

The query is the first sentence of a function's docstring; the answer is the
function's file. Every docstring is removed from the indexed copy (replaced by
blank lines, so line numbers stay), and queries that contain the function's
name, or one of its parts split on "_", are dropped, as are queries of fewer
than 4 words and sentences that several functions share. A fixed sample of
queries (seeded) runs against collections loaded through the SQL API
(agentgres.ingest_document), one per embedder, and the script prints
file-level Recall@5 and MRR@10 (a file's rank is the best rank of its chunks)
for BM25 (bm25_search), vector (top_k_filtered over the collection's chunks
with embed_for) and hybrid (hybrid_search with its defaults, 40 chunks so that
10 files remain).

  bench/code_search_eval.py [--root /usr/lib/python3.11] [--queries 500]
                            [--seed 7] [--embedders builtin,lsa]

Connection: psql's environment (PGHOST, PGPORT, PGUSER, PGDATABASE); the
database needs the extension. Uses psql only (no Python driver needed).
"""

import argparse
import ast
import csv
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time

SKIP_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "__pycache__",
             "turtledemo", "config-3.11-x86_64-linux-gnu"}


def python_files(root):
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(directory, name)


def first_sentence(doc):
    text = " ".join(doc.strip().split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text).strip()


def strip_docstrings(source, tree):
    """The source with every docstring's lines blanked (line numbers kept)."""
    lines = source.splitlines(keepends=True)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                for i in range(first.lineno - 1, first.end_lineno):
                    lines[i] = "\n"
    return "".join(lines)


def build(root):
    documents, candidates = [], []
    for path in python_files(root):
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        uri = os.path.relpath(path, root)
        documents.append((uri, strip_docstrings(source, tree)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    candidates.append((first_sentence(doc), node.name, uri))
    by_sentence = {}
    for sentence, name, uri in candidates:
        by_sentence.setdefault(sentence.lower(), []).append((sentence, name, uri))
    queries = []
    for group in by_sentence.values():
        if len(group) != 1:
            continue  # shared by several functions: no single answer
        sentence, name, uri = group[0]
        words = re.findall(r"\w+", sentence.lower())
        parts = {name.lower()} | {p for p in name.lower().split("_") if len(p) >= 3}
        if len(words) < 4 or any(p in sentence.lower() for p in parts):
            continue
        queries.append((sentence, uri))
    queries.sort()
    return documents, queries


def psql(sql, stdin=None):
    result = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql],
                            input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"psql failed: {result.stderr.strip()}\n{sql[:200]}")
    return result.stdout


def copy_in(table, rows):
    """Loads rows into a table through psql's \\copy (CSV)."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(rows)  # "" is an empty string, not NULL
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as f:
        f.write(buffer.getvalue())
        name = f.name
    try:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f"\\copy {table} FROM '{name}' CSV"],
                       check=True)
    finally:
        os.unlink(name)


def ranked_files(rows):
    """query id -> files in rank order (each once), from (query, rank, uri) rows."""
    out = {}
    for line in rows.splitlines():
        if not line:
            continue
        query, rank, uri = line.split("|", 2)
        out.setdefault(int(query), []).append((int(rank), uri))
    files = {}
    for query, hits in out.items():
        seen, order = set(), []
        for _, uri in sorted(hits):
            if uri not in seen:
                seen.add(uri)
                order.append(uri)
        files[query] = order
    return files


def metrics(files, answers):
    recall5 = mrr10 = 0.0
    for query, answer in answers.items():
        order = files.get(query, [])
        if answer in order[:5]:
            recall5 += 1
        if answer in order[:10]:
            mrr10 += 1.0 / (order.index(answer) + 1)
    n = len(answers)
    return recall5 / n, mrr10 / n


def load(collection, embedder):
    """Loads the files into a new collection; says how long it took."""
    psql(f"DELETE FROM agentgres.collections WHERE name = '{collection}'")
    started = time.time()
    psql(f"SELECT agentgres.create_collection('{collection}', '{embedder}'); "
         f"SELECT count(agentgres.ingest_document('{collection}', uri, content)) FROM public.code_search_files")
    chunks = int(psql(f"SELECT count(*) FROM agentgres.chunks WHERE collection_id = "
                      f"agentgres.collection_id('{collection}')"))
    ingest = time.time() - started
    note = f"ingest {chunks} chunks in {ingest:.1f} s ({chunks / ingest:.0f} chunks/s)"
    if embedder == "lsa":
        started = time.time()
        psql(f"SET maintenance_work_mem = '2GB'; SELECT agentgres.train_embedder('{collection}')")
        note += f", training {time.time() - started:.1f} s"
    psql("VACUUM ANALYZE agentgres.chunks")
    psql("DELETE FROM agentgres.jobs WHERE kind = 'knowledge.train'")
    return note


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="/usr/lib/python3.11")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--embedders", default="builtin,lsa")
    parser.add_argument("--reuse", action="store_true", help="query the collections a previous run loaded")
    args = parser.parse_args()

    documents, queries = build(args.root)
    random.Random(args.seed).shuffle(queries)
    queries = queries[:args.queries]
    print(f"{len(documents)} files, {len(queries)} queries (of the eligible docstrings), seed {args.seed}")

    psql("DROP TABLE IF EXISTS public.code_search_files, public.code_search_queries; "
         "CREATE TABLE public.code_search_files (uri text, content text); "
         "CREATE TABLE public.code_search_queries (id integer, query text, answer text)")
    copy_in("public.code_search_files", documents)
    copy_in("public.code_search_queries", [(i, q, uri) for i, (q, uri) in enumerate(queries)])
    answers = {i: uri for i, (_, uri) in enumerate(queries)}

    print(f"{'embedder':<9} {'side':<7} {'Recall@5':>9} {'MRR@10':>8}")
    for embedder in args.embedders.split(","):
        collection = f"code_search_{embedder}"
        if args.reuse:
            note = "reused"
        else:
            note = load(collection, embedder)
        sides = {
            "bm25": f"SELECT q.id, r.ordinality, r.uri FROM public.code_search_queries q, "
                    f"LATERAL agentgres.bm25_search('{collection}', q.query, 40) WITH ORDINALITY r",
            "vector": f"SELECT q.id, t.ordinality, d.uri FROM public.code_search_queries q, "
                      f"LATERAL agentgres.top_k_filtered('agentgres.chunks', 'id', 'embedding', "
                      f"agentgres.embed_for('{collection}', q.query), 40, 'cosine', 'collection_id', "
                      f"agentgres.collection_id('{collection}')) WITH ORDINALITY t "
                      f"JOIN agentgres.chunks c ON c.id = t.id JOIN agentgres.documents d ON d.id = c.document_id",
            "hybrid": f"SELECT q.id, h.ordinality, h.uri FROM public.code_search_queries q, "
                      f"LATERAL agentgres.hybrid_search('{collection}', q.query, k => 40) WITH ORDINALITY h",
        }
        for side, sql in sides.items():
            recall5, mrr10 = metrics(ranked_files(psql(sql)), answers)
            print(f"{embedder:<9} {side:<7} {recall5:>9.4f} {mrr10:>8.4f}")
        print(f"          ({note})")
    psql("DROP TABLE public.code_search_files, public.code_search_queries")


if __name__ == "__main__":
    main()
