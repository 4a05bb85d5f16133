import { CreateContainers1764374400000 } from './1764374400000-create-containers';

/** Every migration, oldest first. A new one is appended here as well as written to its own file. */
export const MIGRATIONS = [CreateContainers1764374400000];
