import type { Knex } from 'knex';
import type { Migration } from '../migrator.js';

/**
 * The core tables. Conventions, so one schema runs on SQLite and PostgreSQL:
 * - every string column is `text` (no varchar(255) truncation surprises on PostgreSQL);
 * - times are `bigint` milliseconds since the epoch, set by the code, not by the database;
 * - JSON columns (`metadata`, `identifiers`, `body`) are text holding JSON;
 * - enum-like columns are plain text checked by the TypeScript types, so adding a value never
 *   needs SQLite's table-copying ALTER.
 */
async function createCoreSchema(knex: Knex.Transaction): Promise<void> {
  // A fresh schema builder per table: a stored builder would replay earlier statements.
  await knex.schema.createTable('users', (t) => {
    t.text('mxid').primary();
    t.text('management_room').nullable().index();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('user_logins', (t) => {
    t.text('id').primary();
    t.text('user_mxid').notNullable().references('mxid').inTable('users').onDelete('CASCADE').onUpdate('CASCADE');
    t.text('remote_name').notNullable().defaultTo('');
    t.text('space_room').nullable();
    t.text('metadata').notNullable().defaultTo('{}');
    t.bigInteger('created_at').notNullable();
    t.index(['user_mxid']);
  });

  await knex.schema.createTable('portals', (t) => {
    t.text('id').notNullable();
    // '' for portals shared by every login; otherwise the login that sees this chat.
    t.text('receiver').notNullable().defaultTo('');
    t.text('mxid').nullable().unique();
    t.text('room_type').notNullable();
    t.text('name').nullable();
    t.text('topic').nullable();
    t.text('avatar_id').nullable();
    t.text('avatar_mxc').nullable();
    t.boolean('name_set').notNullable().defaultTo(false);
    t.boolean('topic_set').notNullable().defaultTo(false);
    t.boolean('avatar_set').notNullable().defaultTo(false);
    t.boolean('encrypted').notNullable().defaultTo(false);
    t.text('relay_login_id').nullable().references('id').inTable('user_logins').onDelete('SET NULL').onUpdate('CASCADE');
    t.text('other_user_id').nullable();
    t.text('parent_id').nullable().index();
    t.text('disappear_type').nullable();
    t.bigInteger('disappear_timer_ms').nullable();
    t.text('metadata').notNullable().defaultTo('{}');
    t.bigInteger('created_at').notNullable();
    t.primary(['id', 'receiver']);
  });

  await knex.schema.createTable('ghosts', (t) => {
    t.text('id').primary();
    t.text('name').nullable();
    t.text('avatar_id').nullable();
    t.text('avatar_mxc').nullable();
    t.boolean('name_set').notNullable().defaultTo(false);
    t.boolean('avatar_set').notNullable().defaultTo(false);
    t.boolean('is_bot').notNullable().defaultTo(false);
    t.text('identifiers').notNullable().defaultTo('[]');
    t.text('metadata').notNullable().defaultTo('{}');
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('messages', (t) => {
    t.bigIncrements('rowid');
    t.text('id').notNullable();
    t.text('part_id').notNullable().defaultTo('');
    t.text('portal_id').notNullable();
    t.text('portal_receiver').notNullable();
    t.text('mxid').notNullable().unique();
    t.text('room_id').notNullable();
    t.text('sender_id').notNullable();
    t.text('sender_mxid').notNullable().defaultTo('');
    t.bigInteger('timestamp').notNullable();
    t.integer('edit_count').notNullable().defaultTo(0);
    t.text('reply_to_id').nullable();
    t.text('thread_root_id').nullable();
    t.text('metadata').notNullable().defaultTo('{}');
    t.unique(['portal_id', 'portal_receiver', 'id', 'part_id']);
    t.index(['portal_id', 'portal_receiver', 'timestamp']);
    t.foreign(['portal_id', 'portal_receiver']).references(['id', 'receiver']).inTable('portals')
      .onDelete('CASCADE').onUpdate('CASCADE');
  });

  await knex.schema.createTable('reactions', (t) => {
    t.text('portal_id').notNullable();
    t.text('portal_receiver').notNullable();
    t.text('message_id').notNullable();
    t.text('part_id').notNullable().defaultTo('');
    t.text('sender_id').notNullable();
    t.text('emoji_id').notNullable();
    t.text('emoji').notNullable();
    t.text('mxid').notNullable().unique();
    t.bigInteger('timestamp').notNullable();
    t.text('metadata').notNullable().defaultTo('{}');
    t.primary(['portal_id', 'portal_receiver', 'message_id', 'part_id', 'sender_id', 'emoji_id']);
    // Deleting a message part deletes its reactions.
    t.foreign(['portal_id', 'portal_receiver', 'message_id', 'part_id'])
      .references(['portal_id', 'portal_receiver', 'id', 'part_id']).inTable('messages')
      .onDelete('CASCADE').onUpdate('CASCADE');
  });

  await knex.schema.createTable('pending_sends', (t) => {
    t.text('event_id').primary();
    t.text('portal_id').notNullable();
    t.text('portal_receiver').notNullable();
    t.text('login_id').notNullable();
    t.text('txn_id').notNullable().unique();
    t.text('state').notNullable().defaultTo('pending');
    t.text('remote_message_id').nullable();
    t.text('error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['state', 'created_at']);
    t.foreign(['portal_id', 'portal_receiver']).references(['id', 'receiver']).inTable('portals')
      .onDelete('CASCADE').onUpdate('CASCADE');
  });

  await knex.schema.createTable('as_transactions', (t) => {
    t.text('txn_id').primary();
    t.bigInteger('received_at').notNullable().index();
  });

  await knex.schema.createTable('inbound_events', (t) => {
    t.bigIncrements('seq');
    t.text('event_id').nullable().unique();
    t.text('txn_id').notNullable();
    t.text('kind').notNullable();
    t.text('room_id').nullable();
    t.text('body').notNullable();
    t.text('state').notNullable().defaultTo('queued');
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.index(['state', 'seq']);
  });

  await knex.schema.createTable('disappearing_messages', (t) => {
    t.text('mxid').primary();
    t.text('room_id').notNullable().index();
    t.text('type').notNullable();
    t.bigInteger('timer_ms').notNullable();
    t.bigInteger('disappear_at').nullable().index();
  });

  await knex.schema.createTable('user_portals', (t) => {
    t.text('login_id').notNullable().references('id').inTable('user_logins').onDelete('CASCADE').onUpdate('CASCADE');
    t.text('portal_id').notNullable();
    t.text('portal_receiver').notNullable();
    t.text('user_mxid').notNullable();
    t.boolean('in_space').notNullable().defaultTo(false);
    t.boolean('preferred').notNullable().defaultTo(false);
    t.primary(['login_id', 'portal_id', 'portal_receiver']);
    t.index(['portal_id', 'portal_receiver']);
    t.foreign(['portal_id', 'portal_receiver']).references(['id', 'receiver']).inTable('portals')
      .onDelete('CASCADE').onUpdate('CASCADE');
  });

  await knex.schema.createTable('kv', (t) => {
    t.text('key').primary();
    t.text('value').notNullable();
  });
}

export const CORE_SECTION = 'core';

export const coreMigrations: Migration[] = [
  { version: 1, description: 'core schema', up: createCoreSchema },
];
