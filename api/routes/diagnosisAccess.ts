/** What the diagnosis routes share: who may act on a session, and reaching its chat workflow. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Knex } from 'knex';
import { z } from 'zod';
import { diagnosisHandle } from '../../clients/diagnosis.js';
import { findSession } from '../../db/diagnosis.js';
import type { DiagnosisSession } from '../../db/models/Diagnosis.js';
import type { AppContext } from '../context.js';
import { customerOrOperator, runUpdate } from '../customerAccess.js';

/** The customer's credential for one chat, returned once when it starts. */
export const SESSION_TOKEN_HEADER = 'x-session-token';

export const SessionIdParams = z.object({ id: z.uuid() });

/** The session, if the caller is an operator or holds its token; else a 401 or 404 (see customerOrOperator). */
export const visibleSession = (ctx: AppContext, db: Knex, id: string) =>
  customerOrOperator<DiagnosisSession>(ctx, SESSION_TOKEN_HEADER, 'Diagnosis session', () => findSession(db, id));

/** Runs an Update on the session's chat workflow; a closed session is a 409 `invalid_state`. */
export const updateChat = <T>(client: Client, session: DiagnosisSession, run: (h: WorkflowHandle) => Promise<T>) =>
  runUpdate(diagnosisHandle(client, session.id), run);
