/** What an adapter's health check answers: up or not, and one line saying why. */
export interface Health {
  ok: boolean;
  detail: string;
}
