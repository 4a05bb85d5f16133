import { UuidParamPipe } from '../uuid-param.pipe';

/** Container ids in paths: anything but a UUID is an unknown container (404). */
export const ContainerIdPipe = new UuidParamPipe('Container');
