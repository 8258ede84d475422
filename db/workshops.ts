/** Workshops and the rows availability is computed from: mechanics, weekly hours, date overrides, services. */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { Model, ModelClass, PartialModelObject } from 'objection';
import { DateOverrideRow, Mechanic, Service, Workshop, WorkingHours } from './models/Workshop.js';

export type WorkshopInput = PartialModelObject<Workshop>;

/** All workshops, by name. */
export async function listWorkshops(db: Knex): Promise<Workshop[]> {
  return Workshop.query(db).orderBy('name');
}

/** The workshop, or undefined when there is none with that id. */
export async function findWorkshop(db: Knex, id: string): Promise<Workshop | undefined> {
  return Workshop.query(db).findById(id);
}

/** Inserts a workshop; returns the stored row (id and created_at filled in). */
export async function createWorkshop(db: Knex, input: WorkshopInput): Promise<Workshop> {
  return Workshop.query(db).insertAndFetch(input);
}

/** Changes the given fields of an existing workshop; returns the stored row. */
export async function patchWorkshop(db: Knex, id: string, patch: WorkshopInput): Promise<Workshop> {
  return Workshop.query(db).patchAndFetchById(id, patch);
}

/**
 * Removes a workshop (its mechanics, hours and services go with it by cascade); returns the number of rows
 * removed (0: none with that id). Throws a foreign_key_violation (23503) while appointments refer to it.
 */
export async function deleteWorkshop(db: Knex, id: string): Promise<number> {
  return Workshop.query(db).deleteById(id);
}

/** The service when that workshop offers it, else undefined. */
export async function findWorkshopService(
  db: Knex,
  workshopId: string,
  serviceId: string,
): Promise<Service | undefined> {
  return Service.query(db).findOne({ id: serviceId, workshop_id: workshopId });
}

/** The service, or undefined when there is none with that id. */
export async function findService(db: Knex, id: string): Promise<Service | undefined> {
  return Service.query(db).findById(id);
}

/** The mechanic when they work at that workshop (and, with `activeOnly`, are active), else undefined. */
export async function findWorkshopMechanic(
  db: Knex,
  workshopId: string,
  mechanicId: string,
  activeOnly = false,
): Promise<Mechanic | undefined> {
  return Mechanic.query(db).findOne({
    id: mechanicId,
    workshop_id: workshopId,
    ...(activeOnly ? { active: true } : {}),
  });
}

/** A row of one of a workshop's collections. */
export type WorkshopRow = Model & { id: string; workshop_id: string };

/** The tables under a workshop, by the plural noun the API uses for them. */
export type WorkshopCollection = 'mechanics' | 'services' | 'hours' | 'overrides';

/** Each collection's model and the order it is listed in. */
const collections: Record<WorkshopCollection, { model: ModelClass<WorkshopRow>; order: string }> = {
  mechanics: { model: Mechanic, order: 'name' },
  services: { model: Service, order: 'name' },
  hours: { model: WorkingHours, order: 'mechanic_id nulls first, weekday, opens' },
  overrides: { model: DateOverrideRow, order: 'date, mechanic_id nulls first' },
};

const hhmm = (t: unknown) => (typeof t === 'string' ? t.slice(0, 5) : t);

/**
 * A row as the API shows it: times of day as `HH:MM` (PostgreSQL's `time` reads `HH:MM:SS`) and an override's
 * `date` as the calendar date `YYYY-MM-DD` (node-postgres reads a `date` as local midnight, which JSON would turn
 * into another day's instant west or east of UTC).
 */
function present(row: WorkshopRow): WorkshopRow {
  const r = row as unknown as Record<string, unknown>;
  for (const key of ['opens', 'closes', 'break_start', 'break_end']) if (key in r) r[key] = hhmm(r[key]);
  if (r.date instanceof Date) r.date = DateTime.fromJSDate(r.date).toISODate();
  return row;
}

/** The workshop's rows of the collection, in its listing order. */
export async function listWorkshopRows(
  db: Knex,
  collection: WorkshopCollection,
  workshopId: string,
): Promise<WorkshopRow[]> {
  const { model, order } = collections[collection];
  return (await model.query(db).where({ workshop_id: workshopId }).orderByRaw(order)).map(present);
}

/** Inserts a row under the workshop; returns the stored row. */
export async function insertWorkshopRow(
  db: Knex,
  collection: WorkshopCollection,
  workshopId: string,
  row: Record<string, unknown>,
): Promise<WorkshopRow> {
  return present(
    await collections[collection].model.query(db).insertAndFetch({ ...row, workshop_id: workshopId } as never),
  );
}

/** The row with that id, or undefined. */
export async function findWorkshopRow(
  db: Knex,
  collection: WorkshopCollection,
  id: string,
): Promise<WorkshopRow | undefined> {
  return collections[collection].model.query(db).findById(id);
}

/** Overwrites the given columns of the row; returns the stored row. */
export async function updateWorkshopRow(
  db: Knex,
  collection: WorkshopCollection,
  id: string,
  values: Record<string, unknown>,
): Promise<WorkshopRow> {
  return present(await collections[collection].model.query(db).patchAndFetchById(id, values as never));
}

/**
 * Removes the row; returns the number of rows removed (0: none with that id). Throws a foreign_key_violation
 * (23503) for a mechanic or service appointments still refer to.
 */
export async function deleteWorkshopRow(db: Knex, collection: WorkshopCollection, id: string): Promise<number> {
  return collections[collection].model.query(db).deleteById(id);
}
