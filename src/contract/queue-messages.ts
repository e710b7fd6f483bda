/**
 * What travels on the two queues: ids only, never a key or a body. The consumer reads the
 * rest from the conversation's object (which holds the job) and the key store.
 */

/** `JOBS`: a job to run (`job`); `CALLBACKS`: the job whose callback is due (`callback`). */
export interface JobMessage {
  kind: 'job' | 'callback';
  jobId: string;
  keyId: string;
  conversationId: string;
}
