/**
 * What every request the API sends a workflow carries, whether it arrives as an Update or, when no worker accepted
 * that in time, as the Update's Signal twin (see clients/requests.ts and workflows/requests.ts). Types only.
 */
export interface WorkflowRequest {
  /**
   * Unique per API request, and the Update's id: a repeat of an id is the same request, carried out once. Absent in
   * requests sent straight to Temporal (tests, older histories), which are then never taken for repeats.
   */
  requestId?: string;
  /**
   * When the API received the request (ISO 8601). A rule about time (a hold's end) judges the request by it, not by
   * when a worker got to it. Absent as above: then the workflow's own clock judges.
   */
  requestedAt?: string;
}
