import type { ApiRoute } from '../router';
import { listDeadLettersRoute, replayRoute } from './dead-letters';
import { healthRoute } from './health';
import { openApiRoute } from './openapi';
import { getSagaRoute, getSagaStepsRoute, searchSagasRoute } from './sagas';
import { statisticsRoute } from './statistics';
import { statusOverrideRoute } from './status-override';

/** Every operation of the API. A new endpoint is a new module listed here. */
export const API_ROUTES: readonly ApiRoute[] = [
  searchSagasRoute,
  statisticsRoute,
  getSagaRoute,
  getSagaStepsRoute,
  statusOverrideRoute,
  replayRoute,
  listDeadLettersRoute,
  healthRoute,
  openApiRoute,
];
