/**
 * What travels on the two queues: ids only, never a key or a body. The consumer reads the
 * rest from the conversation's object (which holds the job) and the key store.
 */

/** `JOBS`: a job to run. Also the shape of `CALLBACKS` messages: the job whose callback is due. */
export interface JobMessage {
  jobId: string;
  keyId: string;
  conversationId: string;
}
