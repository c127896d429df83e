"""the bureau's service: item profiles, combined matters, cases and their steps, materials and
drafts; staff accounts, tokens, sessions and the audit trail; batch issuance jobs

Revision ID: 0004_service_cases
Revises: 0003_licences
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_service_cases"
down_revision = "0003_licences"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "item_profiles",
        sa.Column("item_code", sa.String(40), sa.ForeignKey("items.code"), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("site_inspection", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "matters",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("lead_section", sa.String(50), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
    )
    op.create_table(
        "matter_items",
        sa.Column("matter_id", sa.String(64), sa.ForeignKey("matters.id"), primary_key=True),
        sa.Column("item_code", sa.String(40), sa.ForeignKey("items.code"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(50), nullable=False),
    )
    op.create_table(
        "case_counters",
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("matter_id", sa.String(64), sa.ForeignKey("matters.id"), nullable=True),
        sa.Column("stage", sa.String(50), nullable=False),
        sa.Column("lead_section", sa.String(50), nullable=False),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("applicant_code", sa.String(40), nullable=False),
        sa.Column("contact", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(30), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("post_address", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("received_at"),
        sa.Column("received_by", sa.String(64), nullable=False),
        _ts("accepted_at", True),
        sa.Column("accepted_by", sa.String(64), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.String(64), nullable=True),
        _ts("closed_at", True),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "case_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("item_code", sa.String(40), sa.ForeignKey("items.code"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        _ts("decided_at", True),
        sa.UniqueConstraint("case_id", "item_code"),
    )
    op.create_index("ix_case_items_case_id", "case_items", ["case_id"])
    op.create_table(
        "case_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_item_id", sa.Integer(), sa.ForeignKey("case_items.id"), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        _ts("at"),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_case_steps_case_id", "case_steps", ["case_id"])
    op.create_table(
        "case_materials",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("received_by", sa.String(64), nullable=False),
        _ts("received_at"),
    )
    op.create_index("ix_case_materials_case_id", "case_materials", ["case_id"])
    op.create_table(
        "case_drafts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_item_id", sa.Integer(), sa.ForeignKey("case_items.id"), nullable=False),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        _ts("updated_at"),
        sa.Column("document_id", sa.String(32), sa.ForeignKey("documents.id"), nullable=True, unique=True),
        sa.UniqueConstraint("case_item_id", "doc_type"),
    )
    op.create_index("ix_case_drafts_case_item_id", "case_drafts", ["case_item_id"])
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", True),
    )
    op.create_index("ix_staff_tokens_user_id", "staff_tokens", ["user_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        _ts("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        _ts("finished_at", True),
    )
    op.create_table(
        "batch_tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("batch_jobs.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("predecessor", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=False),
        _ts("lease_until", True),
        sa.Column("pending_number", sa.String(100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(32), sa.ForeignKey("documents.id"), nullable=True, unique=True),
        sa.Column("error", sa.Text(), nullable=False),
        _ts("finished_at", True),
    )
    op.create_index("ix_batch_tasks_job_id", "batch_tasks", ["job_id"])
    op.create_index("ix_batch_tasks_status", "batch_tasks", ["status"])


def downgrade() -> None:
    for table in ("batch_tasks", "batch_jobs", "audit_entries", "staff_sessions", "staff_tokens", "staff_users",
                  "case_drafts", "case_materials", "case_steps", "case_items", "cases", "case_counters",
                  "matter_items", "matters", "item_profiles"):
        op.drop_table(table)
