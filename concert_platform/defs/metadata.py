"""Metadata a person reads in the UI: row count, column schema, a preview."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

PREVIEW_ROWS = 10


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    if table.num_rows == 0:
        return "_no rows_"
    return table.slice(0, rows).to_pandas().to_markdown(index=False)


def table_metadata(table: pa.Table) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(table.num_rows),
        "dagster/column_schema": table_schema(table.schema),
        "preview": dg.MetadataValue.md(markdown_preview(table)),
    }
